// ghcr.io/vmware-tanzu/streaming-runtimes/gaming-team-score — the online-gaming sample's aggregate.js: per window,
// the total score of every team from the user scores of gaming-user-score ({user, team, userTotalScore}):
// {from, to, team, totalScore}.
import { fieldOf, parseIntLike, serveAggregator, type Json } from '../lib/udf';

interface TeamAggregate { from: string | undefined; to: string | undefined; team: Json | undefined; totalScore: number }

void serveAggregator<TeamAggregate>('gaming-team-score', (headers, userScore, results) => {
  const team = String(fieldOf(userScore, 'team'));
  let aggregate = results.get(team);
  if (!aggregate) {
    aggregate = { from: headers.windowStartTime, to: headers.windowEndTime, team: fieldOf(userScore, 'team'), totalScore: 0 };
    results.set(team, aggregate);
  }
  aggregate.totalScore = aggregate.totalScore + parseIntLike(fieldOf(userScore, 'userTotalScore'));
});
