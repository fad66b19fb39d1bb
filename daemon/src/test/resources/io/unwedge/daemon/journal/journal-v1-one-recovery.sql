-- A journal as unwedge 0.1 (schema version 1) wrote it: one wedge of card1, rebound and settled.
-- Written out by hand from the v1 DDL, so a change to migration 1 that breaks old files breaks this test.
-- Times are microseconds since the epoch: 2026-11-25T10:00:00Z = 1795600800000000.
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version (version) VALUES (1);
CREATE TABLE events (
  id          INTEGER PRIMARY KEY,
  received_at INTEGER NOT NULL,
  seqnum      INTEGER NOT NULL,
  card        TEXT    NOT NULL,
  bdf         TEXT    NOT NULL,
  methods     TEXT    NOT NULL,
  raw         BLOB    NOT NULL,
  task        TEXT
);
CREATE TABLE recoveries (
  id          INTEGER PRIMARY KEY,
  event_id    INTEGER NOT NULL REFERENCES events(id),
  bdf         TEXT    NOT NULL,
  card        TEXT    NOT NULL,
  method      TEXT,
  result      TEXT,
  reason      TEXT,
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER,
  card_after  TEXT,
  latency_us  INTEGER
);
CREATE TABLE steps (
  id          INTEGER PRIMARY KEY,
  recovery_id INTEGER NOT NULL REFERENCES recoveries(id),
  step        TEXT    NOT NULL,
  intent_at   INTEGER NOT NULL,
  started_at  INTEGER,
  ended_at    INTEGER,
  outcome     TEXT,
  detail      TEXT
);
CREATE INDEX recoveries_by_bdf ON recoveries(bdf, started_at);
CREATE INDEX recoveries_unfinished ON recoveries(id) WHERE ended_at IS NULL;
CREATE INDEX steps_by_recovery ON steps(recovery_id);
INSERT INTO events VALUES (1, 1795600800000000, 5208, 'card1', '0000:06:00.0', 'rebind,bus-reset',
  CAST('change@/devices/pci0000:00/0000:00:02.0/0000:06:00.0/drm/card1' AS BLOB), 'glxgears[4242]');
INSERT INTO recoveries VALUES (1, 1, '0000:06:00.0', 'card1', 'rebind', 'recovered', 'driver asked for rebind',
  1795600800000100, 1795600800412000, 'card1', 850);
INSERT INTO steps VALUES (1, 1, 'unbind', 1795600800000200, 1795600800001000, 1795600800051000, 'ok', 'wrote 0000:06:00.0 to unbind');
INSERT INTO steps VALUES (2, 1, 'bind',   1795600800051100, 1795600800052000, 1795600800102000, 'ok', 'wrote 0000:06:00.0 to bind');
INSERT INTO steps VALUES (3, 1, 'settle', 1795600800102100, 1795600800103000, 1795600800403000, 'ok', 'no new wedge for 300 ms');
