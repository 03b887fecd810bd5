// A partitioned output Stream (`keys` or `keyExpression`, `partitionCount`) written by SQL: each result row goes to
// the partition Spring Cloud Stream's selector gives (processor/partition), as an SRP's output message would, so a
// RabbitMQ partition queue (`<destination>-<p>`) or Kafka partition downstream gets the rows of its keys. A SQL row
// has no headers of its own: a key named in `keys` is the row's column of that name (as text, the way a header
// carries it); a `keyExpression` sees the row's columns as its payload (`payload.card_number`), whatever the output
// format.
import type { OutputPartitioning } from '../config';
import { PartitionSelector, selectPartition } from '../partition';
import { Headers, type Message } from '../message';

export class RowPartitioner {
  private readonly selector: PartitionSelector;

  constructor(partitioning: OutputPartitioning) {
    this.selector = new PartitionSelector(partitioning);
  }

  /** The partitioning of an output binding, if it names a key to partition by (else the binder's default). */
  static of(partitioning: OutputPartitioning | undefined): RowPartitioner | undefined {
    if (!partitioning || (!partitioning.keys?.length && !partitioning.keyExpression?.trim())) return undefined;
    return new RowPartitioner(partitioning);
  }

  /** The row's partition and its message with `scst_partition` set; throws PartitionKeyError when it has no key. */
  assign(row: Record<string, unknown>, message: Message): { message: Message; partition: number } {
    const headers: Record<string, string> = {};
    for (const [column, value] of Object.entries(row)) {
      if (value !== null && value !== undefined) headers[column] = typeof value === 'string' ? value : JSON.stringify(value);
    }
    const partition = selectPartition(this.selector.keyOfView(() => row, { ...headers, ...message.headers }), this.selector.partitionCount);
    const out: Message = { ...message, headers: { ...message.headers, [Headers.partition]: String(partition) } };
    return { message: out, partition };
  }
}
