// The administrator's integration pages, inside the console's shell.

import type { RouteRecordRaw } from 'vue-router'

export const adminIntegrationRoutes: RouteRecordRaw[] = [
  {
    path: 'admin/outbound',
    name: 'stuck-reports',
    component: () => import('./StuckReportsView.vue'),
    meta: { title: '平台上报', roles: ['admin'] },
  },
]
