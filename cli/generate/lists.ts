// Fixed value lists for the Java Faker expressions whose data @faker-js/faker does not have, or has differently
// where a sample depends on the original's data.
//
// business.*: Java Faker's own lists (its en.yml, shared with Ruby Faker and faker.js 4). They matter: the anomaly
// detection sample raises alerts only because `#{business.credit_card_numbers}` has four values, so the same card
// numbers recur within its 5-second windows.
// ancient.*, app.name, chuck_norris.fact: no faker-js equivalent; short lists written for this project (any
// plausible value will do: no sample filters or joins on them).

export const CREDIT_CARD_NUMBERS = ['1234-2121-1221-1211', '1212-1221-1121-1234', '1211-1221-1234-2201', '1228-1221-1221-1431'];

export const CREDIT_CARD_TYPES = [
  'visa', 'mastercard', 'american_express', 'discover', 'diners_club', 'jcb',
  'switch', 'solo', 'dankort', 'maestro', 'forbrugsforeningen', 'laser',
];

export const CREDIT_CARD_EXPIRY_DATES = ['2011-10-12', '2012-11-12', '2015-11-11', '2013-9-12'];

export const ANCIENT_HEROES = [
  'Achilles', 'Aeneas', 'Ajax', 'Atalanta', 'Bellerophon', 'Castor', 'Diomedes', 'Hector', 'Heracles', 'Jason',
  'Meleager', 'Odysseus', 'Orpheus', 'Patroclus', 'Perseus', 'Polydeuces', 'Theseus',
];

export const ANCIENT_GODS = [
  'Aphrodite', 'Apollo', 'Ares', 'Artemis', 'Athena', 'Demeter', 'Dionysus', 'Hades', 'Hephaestus', 'Hera',
  'Hermes', 'Hestia', 'Poseidon', 'Zeus',
];

export const APP_NAMES = [
  'Alpha Ledger', 'Bitwise', 'Cardify', 'Cloudnest', 'Datagrid', 'Edgeview', 'Fluxboard', 'Gridlock', 'Helio',
  'Inkwell', 'Jetstream', 'Keystone', 'Lumen', 'Mosaic', 'Northwind', 'Orbit', 'Pulse', 'Quasar', 'Relay',
  'Sentinel', 'Tessera', 'Umbra', 'Vector', 'Waypoint', 'Zenith',
];

export const CHUCK_NORRIS_FACTS = [
  'Chuck Norris does not deploy to production; production deploys to Chuck Norris.',
  'Chuck Norris can read from a Kafka topic before it is written.',
  'Chuck Norris never retries: the first attempt always succeeds.',
  'Chuck Norris counted to infinity. Twice.',
  'Chuck Norris has no bugs, only features that are afraid to show up.',
  'When Chuck Norris throws an exception, nothing can catch it.',
  'Chuck Norris compiles his code by staring at it.',
  'Chuck Norris does not need garbage collection: objects release themselves out of respect.',
  'Chuck Norris can divide by zero.',
  'The watermark never passes Chuck Norris; it waits for him.',
];
