// ghcr.io/vmware-tanzu/streaming-runtimes/user-score-js — tutorial 6's aggregate.js: per window, the total score of
// every user: {from, to, name, totalScore} per fullName.
import { fieldOf, parseIntLike, serveAggregator, type Json } from '../lib/udf';

interface UserAggregate { from: string | undefined; to: string | undefined; name: Json | undefined; totalScore: number }

void serveAggregator<UserAggregate>('user-score-js', (headers, user, results) => {
  const name = String(fieldOf(user, 'fullName'));
  let aggregate = results.get(name);
  if (!aggregate) {
    aggregate = { from: headers.windowStartTime, to: headers.windowEndTime, name: fieldOf(user, 'fullName'), totalScore: 0 };
    results.set(name, aggregate);
  }
  aggregate.totalScore = aggregate.totalScore + parseIntLike(fieldOf(user, 'score'));
});
