// Who is signed in: the session from GET/POST /api/v1/session.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

import { ApiError, request, setCsrfToken } from '../api/client'
import type { Me, Role, SessionOut } from '../api/types'

export const useAuth = defineStore('auth', () => {
  const me = ref<Me | null>(null)
  const checked = ref(false)

  function take(session: SessionOut): void {
    me.value = session.user
    setCsrfToken(session.csrf_token)
    checked.value = true
  }

  let asking: Promise<Me | null> | null = null

  /** The current session, asked once per page load (callers share the answer); null: none. */
  function load(): Promise<Me | null> {
    if (checked.value) return Promise.resolve(me.value)
    asking ??= request<SessionOut>('GET', '/session', { quiet401: true })
      .then((session) => {
        take(session)
        return me.value
      })
      .catch((error) => {
        if (!(error instanceof ApiError) || error.status !== 401) throw error
        forget()
        return null
      })
      .finally(() => {
        asking = null
      })
    return asking
  }

  async function signIn(login: string, password: string): Promise<Me> {
    take(await request<SessionOut>('POST', '/session', { body: { login, password }, quiet401: true }))
    return me.value as Me
  }

  async function signOut(): Promise<void> {
    try {
      await request<void>('DELETE', '/session', { quiet401: true })
    } finally {
      forget()
    }
  }

  function forget(): void {
    me.value = null
    setCsrfToken('')
    checked.value = true
  }

  const role = computed<Role | null>(() => me.value?.role ?? null)
  const isDesk = computed(() => ['operator', 'supervisor', 'admin'].includes(role.value ?? ''))
  const isUnit = computed(() => ['unit_handler', 'subdistrict', 'admin'].includes(role.value ?? ''))

  return { me, role, isDesk, isUnit, load, signIn, signOut, forget }
})
