export { javaStringHashCode, javaHashCode } from './java-hash';
export { selectPartition, PartitionSelector, PartitionKeyError, ownsPartition, assignedPartitions } from './selector';
