// The console's entry: Vue, pinia, the router; Element Plus components come in per view.

import 'element-plus/theme-chalk/base.css'
// Used from scripts (ElMessage, ElMessageBox), so the resolver cannot see them: their styles here.
import 'element-plus/theme-chalk/el-message.css'
import 'element-plus/theme-chalk/el-message-box.css'
import './styles.css'

import { createPinia } from 'pinia'
import { createApp } from 'vue'

import App from './App.vue'
import { router } from './router'

createApp(App).use(createPinia()).use(router).mount('#app')
