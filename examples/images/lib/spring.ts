// What a Spring Boot application reads from its environment, for the Spring Cloud Stream applications re-implemented
// here: properties with Spring's relaxed binding (TIME_DATE-FORMAT, TIME_DATEFORMAT and --time.date-format=... all
// set `time.date-format`), and java.text.SimpleDateFormat for time-source's `time.date-format`.

/** Canonical form of a property name: lower case, `_` as `.`, dashes dropped (Spring's relaxed binding). */
function canonical(name: string): string {
  return name.toLowerCase().replace(/_/g, '.').replace(/-/g, '');
}

/**
 * Spring Boot properties from `--name=value` arguments (highest precedence, as in Spring) and environment variables.
 * `property('time.date-format')` finds TIME_DATE-FORMAT, TIME_DATEFORMAT, time.date-format, --time.dateFormat...
 */
export class SpringProperties {
  private readonly values = new Map<string, string>();

  constructor(env: NodeJS.ProcessEnv = process.env, argv: string[] = process.argv.slice(2)) {
    for (const [name, value] of Object.entries(env)) if (value !== undefined) this.values.set(canonical(name), value);
    for (const arg of argv) {
      const m = /^--([^=]+)=(.*)$/s.exec(arg);
      if (m) this.values.set(canonical(m[1]), m[2]);
    }
  }

  get(name: string): string | undefined {
    return this.values.get(canonical(name));
  }

  string(name: string, fallback: string): string {
    return this.get(name) ?? fallback;
  }

  /** A number, or a Spring Duration-ish value in ms (`2000`, `2s`, `500ms`). */
  millis(name: string, fallback: number): number {
    const text = this.get(name)?.trim();
    if (!text) return fallback;
    const m = /^(\d+)\s*(ms|s|m|h)?$/i.exec(text);
    if (!m) throw new Error(`${name}: "${text}" is not a duration`);
    const unit = (m[2] ?? 'ms').toLowerCase();
    return Number(m[1]) * (unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000);
  }

  int(name: string): number | undefined {
    const text = this.get(name)?.trim();
    if (!text) return undefined;
    const n = Number(text);
    if (!Number.isInteger(n)) throw new Error(`${name}: "${text}" is not an integer`);
    return n;
  }

  bool(name: string, fallback: boolean): boolean {
    const text = this.get(name)?.trim().toLowerCase();
    return text === undefined || text === '' ? fallback : text === 'true';
  }

  list(name: string): string[] {
    return (this.get(name) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  }
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** The zone offset as SimpleDateFormat's Z (+0100) or X (+01:00). */
function offset(date: Date, colon: boolean): string {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes >= 0 ? '+' : '-';
  const abs = Math.abs(minutes);
  return `${sign}${pad(Math.floor(abs / 60), 2)}${colon ? ':' : ''}${pad(abs % 60, 2)}`;
}

function field(letter: string, count: number, d: Date): string {
  switch (letter) {
    case 'y': { const y = d.getFullYear(); return count === 2 ? pad(y % 100, 2) : pad(y, count); }
    case 'M': return count >= 4 ? MONTHS[d.getMonth()] : count === 3 ? MONTHS[d.getMonth()].slice(0, 3) : pad(d.getMonth() + 1, count);
    case 'd': return pad(d.getDate(), count);
    case 'H': return pad(d.getHours(), count);
    case 'k': return pad(d.getHours() === 0 ? 24 : d.getHours(), count);
    case 'h': return pad(d.getHours() % 12 === 0 ? 12 : d.getHours() % 12, count);
    case 'K': return pad(d.getHours() % 12, count);
    case 'm': return pad(d.getMinutes(), count);
    case 's': return pad(d.getSeconds(), count);
    case 'S': return pad(d.getMilliseconds(), Math.max(count, 3)).slice(0, Math.max(count, 3));
    case 'a': return d.getHours() < 12 ? 'AM' : 'PM';
    case 'E': return count >= 4 ? DAYS[d.getDay()] : DAYS[d.getDay()].slice(0, 3);
    case 'u': return String(d.getDay() === 0 ? 7 : d.getDay());
    case 'D': {
      const start = new Date(d.getFullYear(), 0, 1);
      return pad(Math.round((new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime() - start.getTime()) / 86_400_000) + 1, count);
    }
    case 'Z': return offset(d, false);
    case 'X': return d.getTimezoneOffset() === 0 ? 'Z' : offset(d, count >= 3);
    case 'z': return (Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value) ?? offset(d, false);
    default: throw new Error(`date format letter '${letter}' is not supported`);
  }
}

/**
 * java.text.SimpleDateFormat's `format` for the common pattern letters (y M d H k h K m s S a E u D Z X z), with
 * 'quoted text' and '' for a quote, in the process's time zone (TZ), as a JVM uses its default zone.
 * Throws on letters it does not know, so a typo is an error at start rather than wrong output.
 */
export function simpleDateFormat(pattern: string): (date: Date) => string {
  type Part = { text: string } | { letter: string; count: number };
  const parts: Part[] = [];
  for (let i = 0; i < pattern.length;) {
    const c = pattern[i];
    if (c === "'") {
      if (pattern[i + 1] === "'") { parts.push({ text: "'" }); i += 2; continue; }
      // Quoted text; inside it '' is a quote ('o''clock').
      let text = '';
      let j = i + 1;
      for (;;) {
        if (j >= pattern.length) throw new Error(`unterminated quote in date format "${pattern}"`);
        if (pattern[j] === "'") {
          if (pattern[j + 1] === "'") { text += "'"; j += 2; continue; }
          break;
        }
        text += pattern[j++];
      }
      parts.push({ text });
      i = j + 1;
    } else if (/[A-Za-z]/.test(c)) {
      let j = i;
      while (pattern[j] === c) j++;
      parts.push({ letter: c, count: j - i });
      i = j;
    } else {
      parts.push({ text: c });
      i++;
    }
  }
  const probe = new Date(0);
  for (const p of parts) if ('letter' in p) field(p.letter, p.count, probe);
  return (date) => parts.map((p) => ('text' in p ? p.text : field(p.letter, p.count, date))).join('');
}
