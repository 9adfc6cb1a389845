// A list's filters, sort and page live in the URL query, so a view can be bookmarked and shared.

import { computed, watch } from 'vue'
import { useRoute, useRouter, type LocationQueryRaw } from 'vue-router'

export const PAGE_SIZES = [20, 50, 100]

export function useListQuery(defaultSize = 20) {
  const route = useRoute()
  const router = useRouter()

  function one(name: string): string {
    const v = route.query[name]
    return typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : ''
  }

  function many(name: string): string[] {
    const v = route.query[name]
    if (typeof v === 'string') return v ? [v] : []
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : []
  }

  const page = computed(() => Math.max(1, Number(one('page')) || 1))
  const size = computed(() => {
    const n = Number(one('size'))
    return PAGE_SIZES.includes(n) ? n : defaultSize
  })

  /** Change some parameters; any change but the page itself starts again at page 1. */
  function set(patch: Record<string, string | string[] | number | null | undefined>): void {
    const query: LocationQueryRaw = { ...route.query }
    for (const [key, value] of Object.entries(patch)) {
      if (value === null || value === undefined || value === '' || (Array.isArray(value) && !value.length)) {
        delete query[key]
      } else {
        query[key] = Array.isArray(value) ? value : String(value)
      }
    }
    if (!('page' in patch)) delete query.page
    if (query.page === '1') delete query.page
    void router.replace({ query })
  }

  /** Run again when this view's query changes (not when the user leaves for another view). */
  function onChange(load: () => void): void {
    const name = route.name
    watch(
      () => (route.name === name ? JSON.stringify(route.query) : null),
      (now, before) => {
        if (now !== null && before !== null && now !== before) load()
      },
    )
  }

  return { one, many, page, size, set, onChange, offset: computed(() => (page.value - 1) * size.value) }
}
