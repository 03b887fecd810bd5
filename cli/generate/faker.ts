// Java Faker expressions (`#{provider.method 'arg1','arg2'}`), as the original generator evaluates them in Avro
// field docs, on a seeded @faker-js/faker instance. Each expression is compiled once when the configuration is read,
// so an unknown one is an error before anything is produced. Names are matched the way Java Faker matches them:
// case-insensitively and with or without underscores (`number.number_between` = `number.numberBetween`), by the
// YAML key (`business.credit_card_numbers`) or the method (`business.creditCardNumber`).
import type { Faker } from '@faker-js/faker';
import {
  ANCIENT_GODS, ANCIENT_HEROES, APP_NAMES, CHUCK_NORRIS_FACTS, CREDIT_CARD_EXPIRY_DATES, CREDIT_CARD_NUMBERS, CREDIT_CARD_TYPES,
} from './lists';

/** A compiled expression: one value per call, from the given Faker (its seeded randomness). */
export type FakerFn = (faker: Faker) => string;

type Provider = { args: (n: number) => boolean; argsText: string; make: (args: string[]) => FakerFn };

const none = { args: (n: number) => n === 0, argsText: 'no arguments' };
const fixed = (fn: FakerFn): Provider => ({ ...none, make: () => fn });
const pick = (list: readonly string[]): Provider => fixed((f) => f.helpers.arrayElement(list));

/** Java Faker's numberBetween: an integer in [min, max) — the upper bound is exclusive (min when min = max). */
function numberBetween(args: string[]): FakerFn {
  const [min, max] = args.map((a) => Number(a.trim()));
  if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max)) throw new Error(`number_between needs two integers, not ${args.map((a) => `'${a}'`).join(',')}`);
  if (max < min) throw new Error(`number_between: the maximum ${max} is below the minimum ${min}`);
  return (f) => String(max === min ? min : f.number.int({ min, max: max - 1 }));
}

/** A US Social Security number in Java Faker's `id_number.valid` form: no 000, 666 or 9xx area, no 00 group, no 0000. */
function validSsn(f: Faker): string {
  let area = f.number.int({ min: 1, max: 898 });
  if (area === 666) area = 667;
  const group = f.number.int({ min: 1, max: 99 });
  const serial = f.number.int({ min: 1, max: 9999 });
  return `${String(area).padStart(3, '0')}-${String(group).padStart(2, '0')}-${String(serial).padStart(4, '0')}`;
}

const PROVIDERS: Record<string, Provider> = {
  'number.numberbetween': { args: (n) => n === 2, argsText: "two arguments: 'min','max'", make: numberBetween },
  'number.randomdigit': fixed((f) => String(f.number.int({ min: 0, max: 9 }))),
  'number.digit': fixed((f) => String(f.number.int({ min: 0, max: 9 }))),
  'options.option': { args: (n) => n >= 1, argsText: "one or more arguments: 'a','b',...", make: (values) => (f) => f.helpers.arrayElement(values) },
  'name.fullname': fixed((f) => f.person.fullName()),
  'name.name': fixed((f) => f.person.fullName()),
  'name.firstname': fixed((f) => f.person.firstName()),
  'name.lastname': fixed((f) => f.person.lastName()),
  'name.username': fixed((f) => f.internet.username()),
  'business.creditcardnumbers': pick(CREDIT_CARD_NUMBERS),
  'business.creditcardnumber': pick(CREDIT_CARD_NUMBERS),
  'business.creditcardtypes': pick(CREDIT_CARD_TYPES),
  'business.creditcardtype': pick(CREDIT_CARD_TYPES),
  'business.creditcardexpirydates': pick(CREDIT_CARD_EXPIRY_DATES),
  'business.creditcardexpirydate': pick(CREDIT_CARD_EXPIRY_DATES),
  'idnumber.valid': fixed(validSsn),
  'idnumber.ssnvalid': fixed(validSsn),
  'internet.emailaddress': fixed((f) => f.internet.email()),
  'internet.safeemailaddress': fixed((f) => f.internet.exampleEmail()),
  'internet.useragentany': fixed((f) => f.internet.userAgent()),
  'internet.useragent': fixed((f) => f.internet.userAgent()),
  'internet.url': fixed((f) => f.internet.url()),
  'internet.domainname': fixed((f) => f.internet.domainName()),
  'internet.ipv4address': fixed((f) => f.internet.ipv4()),
  'music.genres': fixed((f) => f.music.genre()),
  'music.genre': fixed((f) => f.music.genre()),
  'artist.names': fixed((f) => f.music.artist()),
  'artist.name': fixed((f) => f.music.artist()),
  'rockband.name': fixed((f) => f.music.artist()),
  'ancient.hero': pick(ANCIENT_HEROES),
  'ancient.god': pick(ANCIENT_GODS),
  'app.name': pick(APP_NAMES),
  'app.version': fixed((f) => `${f.number.int({ min: 0, max: 9 })}.${f.number.int({ min: 0, max: 20 })}.${f.number.int({ min: 0, max: 20 })}`),
  'chucknorris.fact': pick(CHUCK_NORRIS_FACTS),
  'address.city': fixed((f) => f.location.city()),
  'address.country': fixed((f) => f.location.country()),
  'address.streetaddress': fixed((f) => f.location.streetAddress()),
  'address.zipcode': fixed((f) => f.location.zipCode()),
  'company.name': fixed((f) => f.company.name()),
  'commerce.productname': fixed((f) => f.commerce.productName()),
  'commerce.department': fixed((f) => f.commerce.department()),
  'color.name': fixed((f) => f.color.human()),
  'lorem.word': fixed((f) => f.lorem.word()),
  'lorem.sentence': fixed((f) => f.lorem.sentence()),
};

/** The Java Faker expressions this implementation knows (normalized names), for error messages and docs. */
export const KNOWN_EXPRESSIONS = Object.keys(PROVIDERS);

export class UnknownExpressionError extends Error {}

function normalize(name: string): string {
  return name.toLowerCase().replace(/_/g, '');
}

/** The arguments of an expression: `'a','b c', 'd'` (single-quoted, spaces kept inside quotes) or bare `1,2`. */
export function parseArguments(text: string): string[] {
  const trimmed = text.trim();
  if (trimmed === '') return [];
  const args: string[] = [];
  let rest = trimmed;
  while (rest.length > 0) {
    const quoted = /^'((?:[^'\\]|\\.)*)'\s*(,\s*|$)/.exec(rest);
    const bare = quoted ? undefined : /^([^,']*?)\s*(,\s*|$)/.exec(rest);
    const m = quoted ?? bare;
    if (!m || m[0].length === 0) throw new UnknownExpressionError(`cannot read the arguments ${text}`);
    args.push(quoted ? m[1].replace(/\\(.)/g, '$1') : m[1].trim());
    rest = rest.slice(m[0].length);
  }
  return args;
}

/** Compiles one expression body (what is inside `#{...}`). */
export function compileExpression(body: string): FakerFn {
  const m = /^\s*([A-Za-z_][\w]*\.[A-Za-z_][\w]*)\s*(.*)$/s.exec(body);
  if (!m) throw new UnknownExpressionError(`unknown Faker expression #{${body}}`);
  const provider = PROVIDERS[normalize(m[1])];
  if (!provider) throw new UnknownExpressionError(`unknown Faker expression #{${body}} (known: ${KNOWN_EXPRESSIONS.join(', ')})`);
  const args = parseArguments(m[2]);
  if (!provider.args(args.length)) throw new UnknownExpressionError(`#{${body}}: ${m[1]} takes ${provider.argsText}`);
  try {
    return provider.make(args);
  } catch (err) {
    throw new UnknownExpressionError(`#{${body}}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Compiles text with any number of `#{...}` expressions between literal text (`#{ancient.hero} #{ancient.god}`). */
export function compileFakerTemplate(text: string): FakerFn {
  const parts: Array<string | FakerFn> = [];
  let last = 0;
  for (const m of text.matchAll(/#\{([^}]*)\}/g)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(compileExpression(m[1]));
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  if (parts.every((p) => typeof p === 'string')) return () => text;
  return (faker) => parts.map((p) => (typeof p === 'string' ? p : p(faker))).join('');
}
