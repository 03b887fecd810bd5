// Per-record confirmation of Kafka produce requests. kafkajs 2.2.4's producer.send() can resolve although some of
// its records reached no broker: when a send spans several leaders and one of them fails (connection lost, or
// NOT_LEADER_FOR_PARTITION after a failover), kafkajs refreshes the metadata and retries only the brokers that have
// not answered yet, re-grouping the records by partition again. Two things then go wrong:
//  - records without a key are placed round-robin, so the retry moves them to other partitions: records that first
//    went to the failed leader may now belong to a broker that already answered, and are never sent;
//  - when the failed partition's leadership moved to a broker that already answered (a failover), its records are
//    never sent either, keyed or not.
// send() still resolves, with RecordMetadata for the partitions actually written. So the binder (a) pins every
// record to the first partition chosen for it, so that every attempt sends the same records per partition, and
// (b) counts a record confirmed only when the RecordMetadata it got back names its partition with no error; the
// others are sent again. See processor/README.md, "Ack model", for the measurements.
import { Partitioners, type ICustomPartitioner, type Message as KafkaRecord, type RecordMetadata } from 'kafkajs';

/** kafkajs's default partitioner (explicit partition, else murmur2 of the key, else round-robin), made sticky: the
 *  partition chosen the first time is written into the record, so every later attempt sends it to the same
 *  partition (as the Java producer does with a batch once it is bound to a partition). */
export const pinningPartitioner: ICustomPartitioner = () => {
  const choose = Partitioners.DefaultPartitioner();
  return (args) => {
    if (args.message.partition !== undefined) return args.message.partition;
    const partition = choose(args);
    args.message.partition = partition;
    return partition;
  };
};

/** Splits the records of one resolved send() into those a broker acknowledged (their partition appears without an
 *  error in the RecordMetadata of `topic`) and the rest, which must be sent again. A record without a partition was
 *  never placed by the partitioner, so it is not confirmed either. */
export function splitAcknowledged<T>(
  items: readonly T[],
  recordOf: (item: T) => KafkaRecord,
  topic: string,
  acknowledged: readonly RecordMetadata[],
): { confirmed: T[]; unconfirmed: T[] } {
  const partitions = new Set<number>();
  for (const metadata of acknowledged) {
    if (metadata.topicName === topic && metadata.errorCode === 0) partitions.add(metadata.partition);
  }
  const confirmed: T[] = [];
  const unconfirmed: T[] = [];
  for (const item of items) {
    const partition = recordOf(item).partition;
    if (partition !== undefined && partitions.has(partition)) confirmed.push(item);
    else unconfirmed.push(item);
  }
  return { confirmed, unconfirmed };
}
