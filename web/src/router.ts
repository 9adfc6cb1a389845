// Routes (history mode, each view lazy-loaded) and the guard that asks for a session first.

import { ElMessage } from 'element-plus'
import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'

import { setUnauthorizedHandler } from './api/client'
import { PART2_ROUTES } from './routesPart2'
import type { Role } from './api/types'
import { useAuth } from './stores/auth'
import { adminIntegrationRoutes } from './views/admin/routes'
import { enterpriseRoutes } from './views/public/routes'

declare module 'vue-router' {
  interface RouteMeta {
    title?: string
    roles?: Role[]
    public?: boolean
    /** Open to anyone: the session is not even asked for (the enterprise channel). */
    open?: boolean
  }
}

const DESK: Role[] = ['operator', 'supervisor', 'admin']
const UNIT: Role[] = ['unit_handler', 'subdistrict', 'admin']

const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('./views/LoginView.vue'),
    meta: { title: '登录', public: true },
  },
  ...enterpriseRoutes,
  {
    path: '/',
    component: () => import('./views/ShellLayout.vue'),
    children: [
      { path: '', name: 'home', component: () => import('./views/HomeRedirect.vue') },
      {
        path: 'desk/intake',
        name: 'intake',
        component: () => import('./views/desk/IntakeView.vue'),
        meta: { title: '接听登记', roles: DESK },
      },
      {
        path: 'desk/triage',
        name: 'triage',
        component: () => import('./views/desk/TriageView.vue'),
        meta: { title: '待分拨', roles: DESK },
      },
      {
        path: 'desk/callback',
        name: 'callback',
        component: () => import('./views/desk/CallbackView.vue'),
        meta: { title: '待回访', roles: DESK },
      },
      {
        path: 'workbench',
        name: 'workbench',
        component: () => import('./views/workbench/WorkbenchView.vue'),
        meta: { title: '部门工作台', roles: UNIT },
      },
      {
        path: 'tickets',
        name: 'tickets',
        component: () => import('./views/tickets/TicketListView.vue'),
        meta: { title: '工单查询' },
      },
      {
        path: 'tickets/:id(\\d+)',
        name: 'ticket',
        component: () => import('./views/tickets/TicketView.vue'),
        meta: { title: '工单详情' },
      },
      ...PART2_ROUTES,
      ...adminIntegrationRoutes,
      {
        path: ':rest(.*)*',
        name: 'not-found',
        component: () => import('./views/NotFoundView.vue'),
        meta: { title: '页面不存在' },
      },
    ],
  },
]

export const router = createRouter({ history: createWebHistory(), routes })

router.beforeEach(async (to) => {
  const auth = useAuth()
  // Fetch the views' code while the session is asked for, not after it.
  for (const record of to.matched) {
    const view = record.components?.default
    if (typeof view === 'function') void (view as () => Promise<unknown>)()
  }
  if (to.meta.open) return true
  const me = await auth.load()
  if (to.meta.public) return me && to.name === 'login' ? { name: 'home' } : true
  if (!me) return { name: 'login', query: { next: to.fullPath } }
  if (to.meta.roles && !to.meta.roles.includes(me.role)) {
    ElMessage.warning(`“${to.meta.title}”不对您的角色开放`)
    return { name: 'home' }
  }
  return true
})

router.afterEach((to) => {
  document.title = to.meta.title ? `${to.meta.title} · 企诉` : '企诉'
})

// Any 401 (an expired or ended session) goes to sign-in, saying why, and comes back afterwards.
setUnauthorizedHandler((error) => {
  const auth = useAuth()
  auth.forget()
  const here = router.currentRoute.value
  if (here.name === 'login') return
  void router.push({ name: 'login', query: { next: here.fullPath, reason: error.message } })
})
