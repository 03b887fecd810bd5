// ghcr.io/vmware-tanzu/streaming-runtimes/udf-anomaly-detection-js — anomaly detection (light)'s fraud-detector.js:
// per window, counts the authorization attempts of every card_number and releases only the cards with more than 5
// attempts: {from, to, card_number, count}.
import { fieldOf, serveAggregator, type Json } from '../lib/udf';

interface AuthorizationCounter { from: string | undefined; to: string | undefined; card_number: Json | undefined; count: number }

void serveAggregator<AuthorizationCounter>(
  'udf-anomaly-detection-js',
  (headers, authorization, results) => {
    const card = String(fieldOf(authorization, 'card_number'));
    let counter = results.get(card);
    if (!counter) {
      counter = { from: headers.windowStartTime, to: headers.windowEndTime, card_number: fieldOf(authorization, 'card_number'), count: 0 };
      results.set(card, counter);
    }
    counter.count += 1;
  },
  (results) => new Map([...results].filter(([, counter]) => counter.count > 5)),
);
