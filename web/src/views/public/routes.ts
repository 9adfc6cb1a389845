// The enterprise channel's public pages (随申办企业云 12345专区): no sign-in, no session asked for.

import type { RouteRecordRaw } from 'vue-router'

export const enterpriseRoutes: RouteRecordRaw[] = [
  {
    path: '/enterprise',
    component: () => import('./EnterpriseLayout.vue'),
    meta: { public: true, open: true },
    children: [
      {
        path: '',
        name: 'enterprise-submit',
        component: () => import('./EnterpriseSubmitView.vue'),
        meta: { title: '提交诉求', public: true, open: true },
      },
      {
        path: 'follow',
        name: 'enterprise-follow',
        component: () => import('./EnterpriseFollowView.vue'),
        meta: { title: '查询进度', public: true, open: true },
      },
    ],
  },
]
