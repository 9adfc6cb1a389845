// The loop's actions as the console offers them: who sees which button in which state, and what
// each asks for. The API decides (a refusal comes back as 403/409 with its Chinese detail).

import { ElMessage } from 'element-plus'

import { api, ApiError } from '../api/client'
import type { Me, Ticket } from '../api/types'
import { isPaused, returnWindowOpen } from './deadlines'

export interface Field {
  key: string
  label: string
  kind: 'textarea' | 'days' | 'satisfaction'
  required: boolean
  placeholder?: string
}

export interface ActionSpec {
  action: string
  label: string
  type: 'primary' | 'success' | 'warning' | 'danger' | 'default'
  fields: Field[]
  /** Shown in the dialog above the fields. */
  hint?: string
}

const note = (label: string, required: boolean, placeholder?: string): Field => ({
  key: 'note',
  label,
  kind: 'textarea',
  required,
  placeholder,
})

export const ACTIONS: Record<string, ActionSpec> = {
  acknowledge: { action: 'acknowledge', label: '签收', type: 'primary', fields: [] },
  contact: {
    action: 'contact',
    label: '先行联系',
    type: 'primary',
    fields: [note('联系情况', true, '何时、与谁联系，企业的诉求要点')],
  },
  reply: {
    action: 'reply',
    label: '答复',
    type: 'success',
    fields: [{ key: 'content', label: '答复内容', kind: 'textarea', required: true, placeholder: '办理结果与依据' }],
  },
  return: {
    action: 'return',
    label: '退单',
    type: 'danger',
    hint: '退单须在退单期限内提出，并说明不属于本单位职权的理由。',
    fields: [{ key: 'reason', label: '退单理由', kind: 'textarea', required: true }],
  },
  'request-extension': {
    action: 'request-extension',
    label: '申请延期',
    type: 'warning',
    hint: '延期需督办人员批准，批准后答复时限顺延相应工作日。',
    fields: [
      { key: 'days', label: '延期工作日', kind: 'days', required: true },
      { key: 'reason', label: '延期理由', kind: 'textarea', required: true },
    ],
  },
  pause: {
    action: 'pause',
    label: '暂停',
    type: 'default',
    hint: '等待企业补充材料或约定时间期间暂停计时，暂停时间不计入时限。',
    fields: [{ key: 'reason', label: '暂停原因', kind: 'textarea', required: true }],
  },
  resume: { action: 'resume', label: '恢复', type: 'default', fields: [note('备注', false)] },
  'approve-extension': { action: 'approve-extension', label: '批准延期', type: 'success', fields: [note('备注', false)] },
  'reject-extension': { action: 'reject-extension', label: '驳回延期', type: 'danger', fields: [note('驳回理由', false)] },
  callback: {
    action: 'callback',
    label: '回访',
    type: 'primary',
    hint: '不满意将转为重办，退回牵头单位重新办理。',
    fields: [
      { key: 'satisfaction', label: '企业满意度', kind: 'satisfaction', required: true },
      note('回访记录', false),
    ],
  },
  close: { action: 'close', label: '结案', type: 'success', fields: [note('结案说明', false)] },
}

const HANDLING = new Set(['acknowledged', 'contacted', 'reopened'])

/** The actions this user may take on this ticket now, in the order a person does them. */
export function actionsFor(ticket: Ticket, me: Me | null): ActionSpec[] {
  if (!me) return []
  const out: string[] = []
  const admin = me.role === 'admin'
  const lead = admin || ((me.role === 'unit_handler' || me.role === 'subdistrict') && me.unit?.code === ticket.lead_unit)
  const desk = admin || me.role === 'operator' || me.role === 'supervisor'
  const s = ticket.status
  if (lead) {
    if (s === 'dispatched' || s === 'reopened') out.push('acknowledge')
    if (s === 'acknowledged') out.push('contact')
    if (s === 'contacted') out.push('reply')
    if (HANDLING.has(s)) out.push(isPaused(ticket) ? 'resume' : 'pause')
    if (HANDLING.has(s) && ticket.extension_requested_days === null) out.push('request-extension')
    if (['dispatched', 'acknowledged', 'contacted', 'reopened'].includes(s) && returnWindowOpen(ticket)) out.push('return')
  }
  if ((admin || me.role === 'supervisor') && HANDLING.has(s) && ticket.extension_requested_days !== null) {
    out.push('approve-extension', 'reject-extension')
  }
  if (desk) {
    if (s === 'replied') out.push('callback')
    if (s === 'verified') out.push('close')
  }
  return out.map((a) => ACTIONS[a])
}

export type Outcome =
  | { kind: 'done'; ticket: Ticket }
  | { kind: 'conflict' }
  | { kind: 'failed'; message: string }
  | { kind: 'signed-out' }

/** Send an action with the ticket's version and say how it went; a 409's Chinese detail shows. */
export async function perform(ticket: Ticket, spec: ActionSpec, body: Record<string, unknown>): Promise<Outcome> {
  try {
    const updated = await api.post<Ticket>(`/tickets/${ticket.id}/${spec.action}`, { ...body, version: ticket.version })
    ElMessage.success(`工单 ${ticket.id} 已${spec.label}`)
    return { kind: 'done', ticket: updated }
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    if (e instanceof ApiError && e.status === 409) {
      ElMessage({ type: 'error', message, duration: 6000, showClose: true })
      return { kind: 'conflict' }
    }
    if (e instanceof ApiError && e.status === 401) return { kind: 'signed-out' }
    ElMessage.error(message)
    return { kind: 'failed', message }
  }
}
