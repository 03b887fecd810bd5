// springcloudstream/transform-processor-kafka|rabbit: applies `spel.function.expression` (SpEL over the message,
// default `payload`) to every message of the `input` binding and sends the result to `output` — Spring Cloud Stream
// Applications' transform-processor. As there, the payload the expression sees is the text of the message (so
// `payload.toUpperCase()` works) and the inbound headers travel with the result. A string result is sent as is; a
// map, list or number as JSON. An expression that fails on a message is logged and the message skipped.
import { compileSpel, encodeResult } from '../../../processor/expressions';
import { binderFromEnvironment, closeOnSignal } from '../lib/scs';
import { SpringProperties } from '../lib/spring';

const props = new SpringProperties();
const expression = compileSpel(props.string('spel.function.expression', 'payload'));
const binder = binderFromEnvironment(props, 'transform-processor');
closeOnSignal(binder);
console.log(`transform-processor: ${props.string('spel.function.expression', 'payload')} over ${binder.describe()}`);

void binder.consume(async (message) => {
  let payload: Buffer;
  let contentType = message.headers.contentType ?? 'text/plain';
  try {
    const value = expression.evaluate({ payload: message.payload.toString('utf8'), headers: message.headers });
    const encoded = encodeResult(value);
    payload = encoded.payload;
    if (typeof value !== 'string') contentType = 'application/json';
  } catch (err) {
    console.error(`transform-processor: skipped a message: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  await binder.send({ payload, headers: { ...message.headers, contentType } });
}).catch((err: unknown) => {
  console.error(`transform-processor: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
