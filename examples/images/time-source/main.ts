// springcloudstream/time-source-kafka|rabbit: "emits a String with the current time" every poll, formatted with
// `time.date-format` (default MM/dd/yy HH:mm:ss) — Spring Cloud Stream Applications' time-source. Properties (env or
// --name=value, relaxed binding): time.date-format, spring.cloud.stream.poller.fixed-delay (ms, default 1000),
// spring.cloud.stream.poller.initial-delay (ms, default 0), spring.cloud.stream.poller.max-messages-per-poll
// (default 1). Output: the binding `output` (SPRING_CLOUD_STREAM_BINDINGS_OUTPUT_DESTINATION), contentType text/plain.
import { binderFromEnvironment, closeOnSignal } from '../lib/scs';
import { SpringProperties, simpleDateFormat } from '../lib/spring';

const props = new SpringProperties();
const format = simpleDateFormat(props.string('time.date-format', 'MM/dd/yy HH:mm:ss'));
const fixedDelay = props.millis('spring.cloud.stream.poller.fixed-delay', 1000);
const initialDelay = props.millis('spring.cloud.stream.poller.initial-delay', 0);
const perPoll = props.int('spring.cloud.stream.poller.max-messages-per-poll') ?? 1;
const binder = binderFromEnvironment(props, 'time-source');
let timer: NodeJS.Timeout | undefined;
closeOnSignal(binder, () => clearTimeout(timer));
console.log(`time-source: every ${fixedDelay} ms to ${binder.describe()}`);

// A fixed delay (Spring's poller): the next poll is scheduled when this one has been sent.
async function poll(): Promise<void> {
  try {
    for (let i = 0; i < perPoll; i++) {
      await binder.send({ payload: Buffer.from(format(new Date()), 'utf8'), headers: { contentType: 'text/plain' } });
    }
  } catch (err) {
    console.error(`time-source: send failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  timer = setTimeout(() => void poll(), fixedDelay);
}
timer = setTimeout(() => void poll(), initialDelay);
