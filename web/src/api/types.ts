// The API's shapes (README "What works today" and CONSOLE-CONTRACT.md), as the console reads them.

export type Role = 'operator' | 'unit_handler' | 'subdistrict' | 'supervisor' | 'admin' | 'auditor'
export type TicketStatus =
  | 'triage'
  | 'dispatched'
  | 'acknowledged'
  | 'contacted'
  | 'replied'
  | 'verified'
  | 'reopened'
  | 'closed'
export type Light = 'green' | 'yellow' | 'red'
export type Satisfaction = 'satisfied' | 'basically_satisfied' | 'unsatisfied'
export type AppealType = 'consultation' | 'help' | 'complaint' | 'report' | 'suggestion'
export type Urgency = 'normal' | 'urgent'
export type Channel = 'hotline' | 'app' | 'web'
export type UnitKind = 'line' | 'utility' | 'subdistrict' | 'coordinator'

export interface UnitRef {
  code: string
  name: string
  short_name: string
  kind: UnitKind | string
}

export interface Unit extends UnitRef {
  duties: string[]
  active: boolean
}

export interface Me {
  id: number
  name: string
  login: string | null
  role: Role
  unit: UnitRef | null
}

export interface SessionOut {
  user: Me
  csrf_token: string
  idle_minutes: number
}

export interface Deadline {
  stage: string
  unit: string | null
  status: string
  due_at: string | null
  paused: boolean
  remaining_hours: number | null
  clock_hours: boolean
  calendar_fallback: boolean
  started_at: string
  warned_at: string | null
  breached_at: string | null
  met_at: string | null
}

export interface Candidate {
  unit: string
  probability: number
}

export interface Repeat {
  ticket_id: number
  root_id: number
  similarity: number
}

export interface Routing {
  lead_unit: string | null
  assist_units: string[]
  subdistrict: string | null
  confidence: number | null
  rule: string
  candidates: Candidate[]
  screened_by: string[]
  reasons: string[]
  repeats?: Repeat[]
  model_version: string | null
  locality_source: string
  trigger?: string
  decided_at?: string
  correct?: boolean | null
  corrected_unit?: string | null
}

export interface Assignment {
  unit: string
  role: string
  state: string
  created_at: string
  acknowledged_at: string | null
  contacted_at: string | null
  replied_at: string | null
  returned_at: string | null
  return_reason: string | null
}

export interface Ticket {
  id: number
  source: string
  external_id: string
  channel: Channel
  received_at: string
  created_at: string
  updated_at: string
  enterprise: { credit_code: string; name: string }
  contact: { name: string; phone: string }
  title: string | null
  text: string
  address: string
  subdistrict: string | null
  appeal_type: AppealType
  urgency: Urgency
  status: TicketStatus
  lead_unit: string | null
  assist_units: string[]
  assignments: Assignment[]
  repeat_of: number | null
  repeat_count: number
  routing: Routing | null
  escalation_level: number
  deadlines: Deadline[]
  overdue: boolean
  calendar_fallback: boolean
  reopen_count: number
  return_count: number
  extension_requested_days: number | null
  extension_days: number
  reply: string | null
  satisfaction: Satisfaction | null
  closed_at: string | null
  version: number
  // Added for the console (CONSOLE-CONTRACT.md "Listings"); absent from an older server.
  light?: Light | null
  next_deadline?: Deadline | null
}

export interface TicketPage {
  count: number
  limit: number
  offset: number
  items: Ticket[]
}

export interface TicketEvent {
  id: number
  at: string
  actor: string
  action: string
  before: Record<string, unknown>
  after: Record<string, unknown>
  note: string | null
}

export interface Enterprise {
  credit_code: string
  name: string
  address: string | null
  subdistrict: string | null
}

export interface PreviewRepeat {
  ticket_id: number
  root_id: number
  similarity: number
  received_at: string
  lead_unit: string | null
  text?: string
  status?: TicketStatus
}

export interface Similar {
  ticket_id: number
  similarity: number
  received_at: string
  lead_unit: string | null
  title: string | null
  text: string
  reply: string | null
}

export interface Preview {
  routing: Routing
  repeats: PreviewRepeat[]
  similar?: Similar[]
}

export interface WorkbenchCounts {
  to_acknowledge: number
  in_progress: number
  warned: number
  overdue: number
  done: number
}

// Element Plus types a table column's slot row loosely (DefaultRow, not the table's row type),
// so a typed row would not check; the console's tables hold tickets and deadlines.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TicketRow = { row: any }
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type DeadlineRow = { row: any }

// ---- part 2: whistles, evaluations, rankings, the dashboard, administration ----

export interface WhistleClock {
  stage: string
  status: string
  due_at: string | null
}

export interface WhistleCall {
  unit: string
  state: 'called' | 'reported' | 'done' | 'confirmed'
  contact: string | null
  plan: string | null
  reported_at: string | null
  outcome: string | null
  outcome_at: string | null
  confirmed_at: string | null
  sent_back: number
  deadline: WhistleClock | null
}

export interface Whistle {
  id: number
  subdistrict: string
  text: string
  ticket_ids: number[]
  status: string
  escalation_level: number
  created_at: string
  calls: WhistleCall[]
}

export interface Period {
  period: string
  starts: string
  ends: string
  status: 'open' | 'closed'
  opened_at: string
  closed_at: string | null
}

export interface Evaluation {
  id: number | null
  period: string
  subdistrict: string | null
  unit: string
  timeliness: number | null
  effectiveness: number | null
  cooperation: number | null
  comment: string | null
  whistle_ids: number[]
  ticket_ids: number[]
  created_at: string | null
  updated_at: string | null
}

export interface TodoItem {
  unit: string
  ticket_ids: number[]
  whistle_ids: number[]
  evaluation_id: number | null
}

export interface EvaluationSummary {
  period: string
  unit: string
  evaluations: number
  enough: boolean
  note: string | null
  timeliness: number | null
  effectiveness: number | null
  cooperation: number | null
}

export interface RankingRow {
  unit: string
  name: string
  rank: number | null
  score: number | null
  previous_rank: number | null
  score_change: number | null
  evaluations: number
  evaluation_note: string | null
  timeliness: number | null
  effectiveness: number | null
  cooperation: number | null
  whistle_report_on_time_rate: number | null
  acknowledged_on_time_rate: number | null
  replied_on_time_rate: number | null
  satisfaction_rate: number | null
  return_rate: number | null
  repeat_rate: number | null
}

export interface Cluster {
  size: number
  lead_unit: string
  tickets: number[]
  enterprises: string[]
  enterprise_names: string[]
  subdistricts: string[]
  representative: number
  text: string
  first_received_at: string
  last_received_at: string
}

export interface ModelVersion {
  name: string
  created_at: string
  labels: number
  validation_accuracy: number | null
  active: boolean
}

export interface UserAdmin {
  id: number
  name: string
  login: string | null
  role: Role
  unit_code: string | null
  unit_name: string | null
  active: boolean
  created_at: string
  last_sign_in_at: string | null
}

export interface Page<T> {
  count: number
  limit: number
  offset: number
  items: T[]
}

/** A table slot's row in part 2's tables (Element Plus types its rows loosely, as above). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Row = { row: any }

// ---- the security audit log (auditors) and bearer tokens (administrators) ----

export interface AuditRecord {
  seq: number
  at: string
  actor_id: number | null
  actor: string
  role: string | null
  action: string
  outcome: string
  address: string | null
  target: string | null
  detail: string | null
  hash: string
}

export interface AuditVerification {
  ok: boolean
  count: number
  head: string
  problems: string[]
}

export interface ApiTokenInfo {
  id: number
  name: string
  created_at: string
  expires_at: string
  revoked_at: string | null
  active: boolean
}

/** A new token: `token` is in this answer only, never again. */
export interface ApiTokenIssued extends ApiTokenInfo {
  token: string
}
