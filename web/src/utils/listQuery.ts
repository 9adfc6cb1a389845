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

/** Shift a yyyy-MM-dd day by `days` (calendar arithmetic, no time zone involved). */
function shiftDay(day: string, days: number): string {
  const [y, m, d] = day.split('-').map(Number)
  return new Date(Date.UTC(y, m - 1, d + days)).toISOString().slice(0, 10)
}

/** A date-range picker over the list's `from`/`to`: whole Shanghai days, `to` exclusive. */
export function useDayRange(list: ReturnType<typeof useListQuery>) {
  /** The range as the picker holds it: the first and the last day included. */
  const range = computed<[string, string] | null>(() => {
    const from = list.one('from').slice(0, 10)
    const to = list.one('to').slice(0, 10)
    return from && to ? [from, shiftDay(to, -1)] : null
  })

  function setRange(v: [string, string] | null): void {
    // A day runs in Shanghai time: from its 00:00 to the next day's 00:00 (+08:00).
    if (!v) return list.set({ from: null, to: null })
    list.set({ from: `${v[0]}T00:00:00+08:00`, to: `${shiftDay(v[1], 1)}T00:00:00+08:00` })
  }

  return { range, setRange }
}
