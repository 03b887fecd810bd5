// springcloudstream/log-sink-kafka|rabbit: logs every message of the `input` binding — Spring Cloud Stream
// Applications' log-sink. Properties (env or --name=value): log.expression (SpEL over the message, default
// `payload`; the payload is the text, as the sink converts bytes to a String), log.name (logger name, default
// log-sink), log.level (default INFO). One line per message on stdout in Spring Boot's console layout.
import { compileSpel } from '../../../processor/expressions';
import { binderFromEnvironment, closeOnSignal } from '../lib/scs';
import { SpringProperties } from '../lib/spring';

const props = new SpringProperties();
const expression = compileSpel(props.string('log.expression', 'payload'));
const name = props.string('log.name', 'log-sink');
const level = props.string('log.level', 'INFO').toUpperCase();
const binder = binderFromEnvironment(props, 'log-sink');
closeOnSignal(binder);
console.log(`log-sink: logging ${binder.describe()}`);

void binder.consume((message) => {
  let text: string;
  try {
    const value = expression.evaluate({ payload: message.payload.toString('utf8'), headers: message.headers });
    text = typeof value === 'string' ? value : JSON.stringify(value);
  } catch (err) {
    text = `(log.expression failed: ${err instanceof Error ? err.message : String(err)})`;
  }
  console.log(`${new Date().toISOString()}  ${level.padStart(5)} ${process.pid} --- [${name}] ${name} : ${text}`);
}).catch((err: unknown) => {
  console.error(`log-sink: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
