// The unified social credit code's GB 32100-2015 check character (a port of tickets/credit_code.py).

export const ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY' // 31 characters: no I, O, S, V, Z
const WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
const SHAPE = new RegExp(`^[${ALPHABET}]{2}\\d{6}[${ALPHABET}]{10}$`)

/** The 18th character that GB 32100-2015 derives from the first 17. */
export function checkCharacter(first17: string): string {
  let total = 0
  for (let i = 0; i < 17; i++) total += ALPHABET.indexOf(first17[i]) * WEIGHTS[i]
  return ALPHABET[(31 - (total % 31)) % 31]
}

/** What is wrong with the code as typed so far, in Chinese, or null when it is a valid code. */
export function creditCodeProblem(raw: string): string | null {
  const code = raw.trim().toUpperCase()
  if (!code) return '请输入统一社会信用代码'
  const bad = [...code].find((c) => !ALPHABET.includes(c))
  if (bad) return `含有不允许的字符“${bad}”（不使用 I、O、S、V、Z）`
  if (code.length < 18) return `还差 ${18 - code.length} 位（共 18 位）`
  if (code.length > 18) return `多了 ${code.length - 18} 位（共 18 位）`
  if (!SHAPE.test(code)) return '第 3–8 位应为行政区划代码（数字）'
  const expected = checkCharacter(code.slice(0, 17))
  if (code[17] !== expected) return `校验位错误：第 18 位应为“${expected}”，请核对`
  return null
}
