// The console's part 2: the 街镇's, the supervisors' and the administrators' pages (each view
// lazy-loaded, so none of it, ECharts least of all, is in the first bundle). A role outside
// `roles` is sent home by the router's guard; the API refuses it either way.

import type { RouteRecordRaw } from 'vue-router'

import type { Role } from './api/types'

const BOSS: Role[] = ['supervisor', 'admin']

export const PART2_ROUTES: RouteRecordRaw[] = [
  {
    path: 'area',
    name: 'area',
    component: () => import('./views/subdistrict/AreaView.vue'),
    meta: { title: '辖区诉求', roles: ['subdistrict', 'admin'] },
  },
  {
    path: 'whistles',
    name: 'whistles',
    component: () => import('./views/whistles/WhistlesView.vue'),
    meta: { title: '吹哨报到', roles: ['subdistrict', 'unit_handler', 'supervisor', 'admin'] },
  },
  {
    path: 'evaluations',
    name: 'evaluate',
    component: () => import('./views/evaluations/EvaluateView.vue'),
    meta: { title: '反向评价', roles: ['subdistrict'] },
  },
  {
    path: 'scorecard',
    name: 'scorecard',
    component: () => import('./views/evaluations/ScorecardView.vue'),
    meta: { title: '我的评价', roles: ['unit_handler'] },
  },
  {
    path: 'supervise',
    name: 'supervise',
    component: () => import('./views/supervisor/SuperviseView.vue'),
    meta: { title: '督办', roles: BOSS },
  },
  {
    path: 'dashboard',
    name: 'dashboard',
    component: () => import('./views/supervisor/DashboardView.vue'),
    meta: { title: '全区概览', roles: BOSS },
  },
  {
    path: 'ranking',
    name: 'ranking',
    component: () => import('./views/supervisor/RankingView.vue'),
    meta: { title: '评价晾晒', roles: BOSS },
  },
  {
    path: 'admin/periods',
    name: 'periods',
    component: () => import('./views/admin/PeriodsView.vue'),
    meta: { title: '评价期管理', roles: BOSS },
  },
  {
    path: 'admin/users',
    name: 'users',
    component: () => import('./views/admin/UsersView.vue'),
    meta: { title: '用户管理', roles: ['admin'] },
  },
  {
    path: 'admin/units',
    name: 'units',
    component: () => import('./views/admin/UnitsView.vue'),
    meta: { title: '单位名录', roles: ['admin'] },
  },
  {
    path: 'admin/models',
    name: 'models',
    component: () => import('./views/admin/ModelsView.vue'),
    meta: { title: '模型管理', roles: ['admin'] },
  },
  {
    // The API keeps the audit log from administrators too: an auditor's page only.
    path: 'audit',
    name: 'audit',
    component: () => import('./views/audit/AuditView.vue'),
    meta: { title: '审计日志', roles: ['auditor'] },
  },
]
