// ghcr.io/vmware-tanzu/streaming-runtimes/team-score-js — tutorial 6.1's aggregate.js: per window, the total score
// of every team: {from, to, team, totalScore}.
import { fieldOf, parseIntLike, serveAggregator, type Json } from '../lib/udf';

interface TeamAggregate { from: string | undefined; to: string | undefined; team: Json | undefined; totalScore: number }

void serveAggregator<TeamAggregate>('team-score-js', (headers, user, results) => {
  const team = String(fieldOf(user, 'team'));
  let aggregate = results.get(team);
  if (!aggregate) {
    aggregate = { from: headers.windowStartTime, to: headers.windowEndTime, team: fieldOf(user, 'team'), totalScore: 0 };
    results.set(team, aggregate);
  }
  aggregate.totalScore = aggregate.totalScore + parseIntLike(fieldOf(user, 'score'));
});
