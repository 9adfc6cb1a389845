// The console's Chinese words for the API's codes (DESIGN.md "The console": one term everywhere).

import type { Light, Role, TicketStatus } from '../api/types'

export const ROLE: Record<Role, string> = {
  operator: '热线接线员',
  unit_handler: '部门经办人',
  subdistrict: '街镇经办人',
  supervisor: '督办人员（区营商办）',
  admin: '系统管理员',
  auditor: '审计员',
}

export const STATUS: Record<TicketStatus, string> = {
  triage: '待分拨',
  dispatched: '已分拨',
  acknowledged: '已签收',
  contacted: '已先行联系',
  replied: '已答复',
  verified: '已回访',
  reopened: '重办',
  closed: '已结案',
}

export const STATUS_TAG: Record<TicketStatus, 'primary' | 'success' | 'info' | 'warning' | 'danger'> = {
  triage: 'warning',
  dispatched: 'primary',
  acknowledged: 'primary',
  contacted: 'primary',
  replied: 'success',
  verified: 'success',
  reopened: 'danger',
  closed: 'info',
}

export const APPEAL_TYPE: Record<string, string> = {
  consultation: '咨询',
  help: '求助',
  complaint: '投诉',
  report: '举报',
  suggestion: '建议',
}

export const URGENCY: Record<string, string> = { normal: '一般', urgent: '紧急' }
export const CHANNEL: Record<string, string> = { hotline: '热线电话', app: '随申办企业云', web: '网站' }

export const SATISFACTION: Record<string, string> = {
  satisfied: '满意',
  basically_satisfied: '基本满意',
  unsatisfied: '不满意',
}

export const STAGE: Record<string, string> = {
  acknowledge: '签收',
  contact: '先行联系',
  reply: '答复',
  callback: '回访',
  return_window: '退单期限',
  report: '报到',
  outcome: '办理结果',
}

export const DEADLINE_STATUS: Record<string, string> = {
  pending: '计时中',
  warned: '临期预警',
  met: '已按时完成',
  breached: '已超期',
  cancelled: '已取消',
}

export const LIGHT: Record<Light, string> = { green: '正常', yellow: '临期', red: '超期' }

export const RULE: Record<string, string> = {
  'no model': '未启用模型（转人工）',
  'model failed': '模型出错（转人工）',
  'unreadable text': '文本无法识别（转人工）',
  'outside Jiading': '地址不在嘉定区（转人工）',
  'no 街镇': '未识别街镇（转人工）',
  supervisor: '督办裁定（区营商办）',
  'line unit': '条线部门牵头',
  screened: '甄别后条线部门牵头',
  territorial: '属地街镇办理',
  triage: '把握不足（转人工）',
  manual: '人工分拨',
}

export const SCREEN: Record<string, string> = {
  repeat: '重复诉求',
  returned: '街镇退单',
  legacy: '历史遗留',
  cannot_solve: '街镇无法解决',
}

export const LOCALITY_SOURCE: Record<string, string> = {
  name: '地址中的街镇名',
  'generic name': '地址中的通用地名',
  gazetteer: '道路地名库',
  registry: '企业登记信息',
  'outside Jiading': '区外地址',
  unknown: '未识别',
}

export const ACTION: Record<string, string> = {
  received: '受理',
  merged: '合并重复提交',
  amend: '平台修改工单',
  withdraw: '平台撤单',
  dispatch: '分拨',
  'to-supervisor': '转督办裁定',
  rerouted: '重新分拨',
  acknowledge: '签收',
  contact: '先行联系',
  reply: '答复',
  return: '退单',
  'request-extension': '申请延期',
  'approve-extension': '批准延期',
  'reject-extension': '驳回延期',
  pause: '暂停计时',
  resume: '恢复计时',
  callback: '回访',
  close: '结案',
  deadline_warned: '临期预警',
  deadline_breached: '超期督办',
  escalated: '升级督办',
}

export const FIELD: Record<string, string> = {
  status: '状态',
  lead_unit: '牵头单位',
  assist_units: '协办单位',
  subdistrict: '街镇',
  reply: '答复内容',
  satisfaction: '满意度',
  closed_at: '结案时间',
  escalation_level: '督办级别',
  reopen_count: '重办次数',
  return_count: '退单次数',
  extension_requested_days: '申请延期天数',
  extension_days: '已批延期天数',
  repeat_of: '重复于',
  repeat_count: '重复次数',
  version: '版本',
  text: '诉求内容',
  stage: '环节',
  due_at: '截止时间',
}

export const ESCALATION: Record<number, string> = {
  0: '未督办',
  1: '单位领导督办',
  2: '区营商办督办',
  3: '区领导督办',
}

/** A label from a table, or the code itself when the table does not know it. */
export function label(table: Record<string, string>, code: string | null | undefined): string {
  if (code === null || code === undefined || code === '') return '—'
  return table[code] ?? code
}

const REASONS: [RegExp, (m: RegExpMatchArray, unit: (code: string) => string) => string][] = [
  [/^returned (\d+) times; a supervisor decides$/, (m) => `已退单 ${m[1]} 次，由督办人员裁定`],
  [/^the text holds too little Chinese to classify$/, () => '诉求文本中文内容过少，无法自动分类'],
  [/^the classifier failed: (.*)$/, (m) => `分类模型出错：${m[1]}`],
  [/^no classifier is active/, () => '未启用分类模型，请管理员训练并启用模型'],
  [/^the active model knows none of the registry's units$/, () => '当前模型不认识登记的任何单位'],
  [/^a 街镇 returned it and no line unit is plausible$/, () => '街镇已退单，且没有合适的条线部门'],
  [/^the address lies outside Jiading \((.*)\)$/, (m) => `地址不在嘉定区（${m[1]}）`],
  [/^the address names no 街镇 and the enterprise has none$/, () => '地址未写明街镇，企业登记信息中也没有'],
  [
    /^the best candidate (\S+) \(([\d.]+)\) is below ([\d.]+)$/,
    (m, unit) => `最可能的单位“${unit(m[1])}”把握 ${pct(Number(m[2]))}，低于自动分拨门槛 ${pct(Number(m[3]))}`,
  ],
]

/** Routing's reason in Chinese: the server's own words when it already says them in Chinese. */
export function reason(text: string, unit: (code: string) => string): string {
  for (const [pattern, render] of REASONS) {
    const m = text.match(pattern)
    if (m) return render(m, unit)
  }
  return text
}

export function pct(p: number | null | undefined): string {
  if (p === null || p === undefined || Number.isNaN(p)) return '—'
  return `${Math.round(p * 100)}%`
}

/** A timestamp in Shanghai time, as an office reads it: 2026-12-01 14:05. */
export function when(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const parts = new Intl.DateTimeFormat('zh-CN', {
    timeZone: 'Asia/Shanghai',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    hour12: false,
  }).formatToParts(d)
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? ''
  return `${get('year')}-${get('month')}-${get('day')} ${get('hour')}:${get('minute')}`
}

/** Hours left as the SLA systems say it: 剩余 3.5 小时 / 超时 2 小时. */
export function hoursLeft(hours: number | null | undefined, clock = false): string {
  if (hours === null || hours === undefined) return '—'
  const unit = clock ? '小时' : '工作小时'
  const h = Math.abs(hours) >= 10 ? Math.round(Math.abs(hours)) : Math.round(Math.abs(hours) * 10) / 10
  return hours >= 0 ? `剩余 ${h} ${unit}` : `超时 ${h} ${unit}`
}

/** An event's note in Chinese: routing's own note ("routing decision 7: line unit 0.93; …"). */
export function eventNote(note: string, unit: (code: string) => string): string {
  const m = note.match(/^routing decision (\d+): (.+?)(?: ([\d.]+))?(?:; (.*))?$/)
  if (!m) return note
  const [, id, rule, confidence, rest] = m
  const parts = [`自动分拨（决策 #${id}）：${label(RULE, rule)}`]
  if (confidence) parts.push(`把握 ${pct(Number(confidence))}`)
  if (rest) parts.push(...rest.split('; ').map((r) => reason(r, unit)))
  return parts.join('；')
}

export const CALL_STATE: Record<string, string> = {
  called: '待报到',
  reported: '已报到·办理中',
  done: '已反馈结果',
  confirmed: '已确认',
}
export const CALL_STATE_TAG: Record<string, 'primary' | 'success' | 'info' | 'warning' | 'danger'> = {
  called: 'warning',
  reported: 'primary',
  done: 'info',
  confirmed: 'success',
}
export const WHISTLE_STATUS: Record<string, string> = { open: '进行中', confirmed: '已办结' }
export const PERIOD_STATUS: Record<string, string> = { open: '评价中', closed: '已关闭' }
export const SCORE: Record<string, string> = {
  timeliness: '响应及时',
  effectiveness: '解决实效',
  cooperation: '协同配合',
}
export const FIGURE: Record<string, string> = {
  ...SCORE,
  whistle_report_on_time_rate: '吹哨报到及时率',
  acknowledged_on_time_rate: '签收及时率',
  replied_on_time_rate: '按时办结率',
  satisfaction_rate: '满意率',
  return_rate: '退单率',
  repeat_rate: '重复投诉率',
}
export const STEP: Record<string, string> = {
  received: '受理',
  dispatched: '分拨',
  acknowledged: '签收',
  replied: '答复',
  closed: '结案',
}

/** The first and the day after the last day of a YYYY-MM month, as Shanghai instants. */
export function monthSpan(month: string): { from: string; to: string } {
  const [y, m] = month.split('-').map(Number)
  const next = m === 12 ? `${y + 1}-01` : `${y}-${String(m + 1).padStart(2, '0')}`
  return { from: `${month}-01T00:00:00+08:00`, to: `${next}-01T00:00:00+08:00` }
}

/** This month in Shanghai, as YYYY-MM. */
export function thisMonth(): string {
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit' }).format(new Date())
  return parts.slice(0, 7)
}

// The security audit log's codes (accounts/audit.py Action and Outcome).
export const AUDIT_ACTION: Record<string, string> = {
  sign_in: '登录',
  sign_out: '退出登录',
  permission_refused: '越权访问被拒',
  user_create: '创建用户',
  user_deactivate: '停用用户',
  user_reactivate: '启用用户',
  user_password: '重置密码',
  user_role: '修改角色',
  token_issue: '签发令牌',
  token_revoke: '吊销令牌',
  totp_enrol: '绑定动态口令',
  totp_reset: '重置动态口令',
  contact_view: '查看联系方式',
  contact_reveal: '显示完整联系方式',
  export: '导出数据',
  data_purge: '清理过期数据',
}
export const AUDIT_OUTCOME: Record<string, string> = { success: '成功', failure: '失败', refused: '拒绝' }
export const AUDIT_OUTCOME_TAG: Record<string, 'success' | 'warning' | 'danger'> = {
  success: 'success',
  failure: 'warning',
  refused: 'danger',
}
const TARGET_KIND: Record<string, string> = { user: '用户', ticket: '工单', session: '会话', token: '令牌' }

/** An audit target in Chinese: "user:5" reads 用户 #5; others as recorded. */
export function auditTarget(target: string | null | undefined): string {
  if (!target) return '—'
  const m = target.match(/^([a-z_]+):(.+)$/)
  if (m && TARGET_KIND[m[1]]) return `${TARGET_KIND[m[1]]} #${m[2]}`
  if (target === 'audit') return '审计日志'
  if (target === 'tickets') return '工单'
  return target
}
