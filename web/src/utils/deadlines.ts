// Which deadline is next and what light a ticket shows; the server computes both (CONSOLE-CONTRACT),
// these only fill in when an older server leaves them out.

import type { Deadline, Light, Ticket } from '../api/types'

const OPEN = new Set(['pending', 'warned', 'breached'])

export function isOpen(d: Deadline): boolean {
  return OPEN.has(d.status) && !d.met_at
}

export function nextDeadline(t: Ticket): Deadline | null {
  if (t.next_deadline !== undefined) return t.next_deadline
  const open = t.deadlines.filter((d) => isOpen(d) && d.stage !== 'return_window' && d.due_at)
  open.sort((a, b) => (a.due_at ?? '').localeCompare(b.due_at ?? ''))
  return open[0] ?? null
}

export function lightOf(d: Deadline): Light | null {
  if (!isOpen(d)) return null
  if (d.status === 'breached') return 'red'
  if (d.status === 'warned') return 'yellow'
  return 'green'
}

export function ticketLight(t: Ticket): Light | null {
  if (t.light !== undefined) return t.light
  const lights = t.deadlines.map(lightOf)
  if (lights.includes('red')) return 'red'
  if (lights.includes('yellow')) return 'yellow'
  return lights.includes('green') ? 'green' : null
}

/** The 退单 window is open: a pending or warned return_window deadline. */
export function returnWindowOpen(t: Ticket): boolean {
  return t.deadlines.some(
    (d) => d.stage === 'return_window' && (d.status === 'pending' || d.status === 'warned'),
  )
}

export function isPaused(t: Ticket): boolean {
  return t.deadlines.some((d) => d.paused && isOpen(d))
}
