// ghcr.io/vmware-tanzu/streaming-runtimes/gaming-user-score — the online-gaming sample's GamingUserScoreApplication
// (Java, the streaming-runtime-udf-aggregator-java Aggregator with an IdentityReleaser): per window, the sum of the
// scores of every user, one result per fullName: {"user": fullName, "team": team, "userTotalScore": "<sum>"} — the
// sum as a string, as its toPayload writes it (gaming-team-score parses it back). The reply's contentType is
// multipart/<the request's subtype>. An event that cannot be read is reported and skipped (the Java code printed the
// exception and released what it had).
import { decodePayloadCollection, encodePayloadCollection } from '../../../processor/window/encoding';
import { serve } from '../lib/udf';

interface UserScores { user: string; team: string; userScoreSum: bigint }

void serve('gaming-user-score', 55554, (message) => {
  const contentType = message.headers.contentType ?? 'multipart/json';
  const subtype = /^[^/]+\/([^;\s]+)/.exec(contentType)?.[1] ?? 'json';
  const results = new Map<string, UserScores>();
  try {
    for (const item of decodePayloadCollection(message.payload)) {
      const record = JSON.parse(item.toString('utf8')) as { fullName?: unknown; team?: unknown; score?: unknown };
      // Long.valueOf((Integer) map.get("score")): the score must be a whole number.
      if (typeof record.score !== 'number' || !Number.isInteger(record.score)) throw new Error(`score is not an integer: ${JSON.stringify(record.score)}`);
      const user = String(record.fullName);
      const existing = results.get(user);
      if (existing) existing.userScoreSum += BigInt(record.score);
      else results.set(user, { user, team: String(record.team), userScoreSum: BigInt(record.score) });
    }
  } catch (err) {
    console.error(`gaming-user-score: ${err instanceof Error ? err.message : String(err)}`);
  }
  const payloads = [...results.values()].map((s) => Buffer.from(`{"user":${JSON.stringify(s.user)}, "team":${JSON.stringify(s.team)}, "userTotalScore":"${s.userScoreSum}"}`, 'utf8'));
  return { payload: encodePayloadCollection(payloads), headers: { contentType: `multipart/${subtype}` } };
});
