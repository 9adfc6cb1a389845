// The enterprise channel's API shapes (README "The enterprise channel") and its three calls.

import { api } from '../../api/client'
import type { Satisfaction } from '../../api/types'

export interface EnterpriseAppeal {
  credit_code: string
  enterprise_name: string
  contact_name: string
  contact_phone: string
  address: string
  appeal_type: string
  title: string | null
  text: string
  submission_id: string
}

export interface Receipt {
  receipt_code: string
  received_at: string
  status: string
  status_name: string
  created: boolean
}

export interface AppealDeadline {
  stage: string
  stage_name: string
  due_at: string | null
  status: string
  met_at: string | null
}

export interface AppealView {
  receipt_code: string
  status: string
  status_name: string
  received_at: string
  title: string | null
  unit: string | null
  deadlines: AppealDeadline[]
  reply: string | null
  satisfaction: Satisfaction | null
  can_rate: boolean
}

export const enterpriseApi = {
  submit: (body: EnterpriseAppeal) => api.post<Receipt>('/enterprise/appeals', body),
  follow: (receipt_code: string, phone_last4: string) =>
    api.post<AppealView>('/enterprise/follow', { receipt_code, phone_last4 }),
  rate: (receipt_code: string, phone_last4: string, satisfaction: Satisfaction, note: string | null) =>
    api.post<AppealView>('/enterprise/rate', { receipt_code, phone_last4, satisfaction, note }),
}
