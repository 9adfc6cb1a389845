// The unit registry, fetched once: codes to Chinese names for every view.

import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

import { api } from '../api/client'
import type { Unit } from '../api/types'

export const useUnits = defineStore('units', () => {
  const all = ref<Unit[]>([])
  let loading: Promise<void> | null = null

  function ensure(): Promise<void> {
    loading ??= api
      .get<Unit[]>('/units')
      .then((units) => {
        all.value = units
      })
      .catch((error) => {
        loading = null
        throw error
      })
    return loading
  }

  const byCode = computed(() => new Map(all.value.map((u) => [u.code, u])))
  const subdistricts = computed(() => all.value.filter((u) => u.kind === 'subdistrict' && u.active))
  const active = computed(() => all.value.filter((u) => u.active))

  /** The unit's short Chinese name; 属地 for the classifier's territorial class. */
  function name(code: string | null | undefined): string {
    if (!code) return '—'
    if (code === 'territorial') return '属地（街镇）'
    const unit = byCode.value.get(code)
    return unit ? unit.short_name || unit.name : code
  }

  return { all, active, subdistricts, ensure, name }
})
