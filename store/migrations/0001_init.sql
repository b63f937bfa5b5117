-- Herald schema v1. Times are INTEGER Unix milliseconds (UTC); 0 or NULL means "never".

CREATE TABLE feeds (
	id               INTEGER PRIMARY KEY,
	name             TEXT NOT NULL DEFAULT '',
	config_url       TEXT NOT NULL UNIQUE,          -- the URL as configured: the feed's identity
	url              TEXT NOT NULL,                 -- where it is fetched now (permanent redirects update it)
	etag             TEXT NOT NULL DEFAULT '',
	last_modified    TEXT NOT NULL DEFAULT '',
	last_polled_at   INTEGER NOT NULL DEFAULT 0,
	last_success_at  INTEGER NOT NULL DEFAULT 0,
	next_poll_at     INTEGER NOT NULL DEFAULT 0,
	failures         INTEGER NOT NULL DEFAULT 0,    -- consecutive
	last_error       TEXT NOT NULL DEFAULT '',
	disabled_at      INTEGER NOT NULL DEFAULT 0,
	disabled_reason  TEXT NOT NULL DEFAULT '',
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL
);

CREATE TABLE stories (
	id             INTEGER PRIMARY KEY,
	origin         TEXT NOT NULL,                   -- "feed:<id>", "push" or "cli": GUIDs are unique per origin
	guid           TEXT NOT NULL,
	feed_id        INTEGER REFERENCES feeds(id) ON DELETE SET NULL,
	url            TEXT NOT NULL DEFAULT '',        -- canonical URL (fragment and utm_* stripped)
	title          TEXT NOT NULL DEFAULT '',
	byline         TEXT NOT NULL DEFAULT '',
	site_name      TEXT NOT NULL DEFAULT '',
	excerpt        TEXT NOT NULL DEFAULT '',
	body           TEXT NOT NULL DEFAULT '',        -- JSON of store.Body
	text           TEXT NOT NULL DEFAULT '',        -- plain text of body, for search and summaries
	image_url      TEXT NOT NULL DEFAULT '',
	lang           TEXT NOT NULL DEFAULT '',
	content_hash   TEXT NOT NULL DEFAULT '',
	extract_error  TEXT NOT NULL DEFAULT '',        -- why no full text could be extracted
	summary        TEXT NOT NULL DEFAULT '',
	summarizer     TEXT NOT NULL DEFAULT '',
	summary_model  TEXT NOT NULL DEFAULT '',
	published_at   INTEGER NOT NULL DEFAULT 0,
	queued_at      INTEGER NOT NULL DEFAULT 0,      -- when its deliveries were queued; 0 = not queued
	created_at     INTEGER NOT NULL,
	updated_at     INTEGER NOT NULL,
	UNIQUE (origin, guid)
);
CREATE INDEX stories_url ON stories(url) WHERE url <> '';
CREATE INDEX stories_published ON stories(published_at DESC, id DESC);

-- Full-text search over title and text. FTS4 (not FTS5) because the default go-sqlite3 build has it without build tags.
CREATE VIRTUAL TABLE stories_fts USING fts4(content="stories", title, text, tokenize=unicode61 "remove_diacritics=2");
CREATE TRIGGER stories_fts_bu BEFORE UPDATE OF title, text ON stories BEGIN
	DELETE FROM stories_fts WHERE docid = old.id;
END;
CREATE TRIGGER stories_fts_bd BEFORE DELETE ON stories BEGIN
	DELETE FROM stories_fts WHERE docid = old.id;
END;
CREATE TRIGGER stories_fts_au AFTER UPDATE OF title, text ON stories BEGIN
	INSERT INTO stories_fts(docid, title, text) VALUES (new.id, new.title, new.text);
END;
CREATE TRIGGER stories_fts_ai AFTER INSERT ON stories BEGIN
	INSERT INTO stories_fts(docid, title, text) VALUES (new.id, new.title, new.text);
END;

CREATE TABLE subscriptions (
	id                  INTEGER PRIMARY KEY,
	external_id         TEXT NOT NULL UNIQUE,
	email               TEXT NOT NULL DEFAULT '',
	plan                TEXT NOT NULL DEFAULT '',
	status              TEXT NOT NULL CHECK (status IN ('active','trialing','past_due','canceled','expired')),
	current_period_end  INTEGER NOT NULL DEFAULT 0,
	grace_until         INTEGER NOT NULL DEFAULT 0,
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL
);

CREATE TABLE links (
	id                  INTEGER PRIMARY KEY,
	subscription_id     INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
	platform            TEXT NOT NULL,
	user_id             TEXT NOT NULL,               -- the platform's user id
	dm_chat             TEXT NOT NULL DEFAULT '',    -- the DM channel/chat id once known
	paused              INTEGER NOT NULL DEFAULT 0,
	unreachable_at      INTEGER NOT NULL DEFAULT 0,
	unreachable_reason  TEXT NOT NULL DEFAULT '',
	created_at          INTEGER NOT NULL,
	updated_at          INTEGER NOT NULL,
	UNIQUE (platform, user_id),
	UNIQUE (subscription_id, platform)
);

CREATE TABLE link_codes (
	id               INTEGER PRIMARY KEY,
	subscription_id  INTEGER NOT NULL REFERENCES subscriptions(id) ON DELETE CASCADE,
	platform         TEXT NOT NULL DEFAULT '',       -- '' = redeemable on any platform
	code_hash        TEXT NOT NULL UNIQUE,           -- SHA-256 of the normalized code; the code itself is never stored
	expires_at       INTEGER NOT NULL,
	used_at          INTEGER NOT NULL DEFAULT 0,
	revoked_at       INTEGER NOT NULL DEFAULT 0,
	created_at       INTEGER NOT NULL
);
CREATE INDEX link_codes_sub ON link_codes(subscription_id, platform);

CREATE TABLE link_attempts (
	id         INTEGER PRIMARY KEY,
	platform   TEXT NOT NULL,
	user_id    TEXT NOT NULL,
	at         INTEGER NOT NULL
);
CREATE INDEX link_attempts_user ON link_attempts(platform, user_id, at);

-- Channels as configured, with the chat id they resolve to now (a Telegram group migrated to a supergroup changes it).
CREATE TABLE channels (
	id                  INTEGER PRIMARY KEY,
	platform            TEXT NOT NULL,
	name                TEXT NOT NULL,
	chat_id             TEXT NOT NULL,
	unreachable_at      INTEGER NOT NULL DEFAULT 0,
	unreachable_reason  TEXT NOT NULL DEFAULT '',
	updated_at          INTEGER NOT NULL,
	UNIQUE (platform, name)
);

-- The outbox: one row per message to deliver. Every row ends 'sent', 'skipped' or 'failed'.
CREATE TABLE deliveries (
	id               INTEGER PRIMARY KEY,
	story_id         INTEGER NOT NULL REFERENCES stories(id) ON DELETE CASCADE,
	kind             TEXT NOT NULL CHECK (kind IN ('post','dm')),
	platform         TEXT NOT NULL,
	target           TEXT NOT NULL,                  -- channel name for posts, platform user id for DMs
	link_id          INTEGER REFERENCES links(id) ON DELETE SET NULL,
	state            TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sending','sent','skipped','failed')),
	attempts         INTEGER NOT NULL DEFAULT 0,
	recoveries       INTEGER NOT NULL DEFAULT 0,     -- times found in 'sending' after a crash
	parts_sent       INTEGER NOT NULL DEFAULT 0,     -- parts of a split message already acknowledged
	message_ids      TEXT NOT NULL DEFAULT '',       -- platform message ids, comma-separated
	next_attempt_at  INTEGER NOT NULL DEFAULT 0,
	claimed_at       INTEGER NOT NULL DEFAULT 0,
	sent_at          INTEGER NOT NULL DEFAULT 0,
	reason           TEXT NOT NULL DEFAULT '',       -- why skipped/failed, or the last retry reason
	created_at       INTEGER NOT NULL,
	updated_at       INTEGER NOT NULL,
	UNIQUE (story_id, kind, platform, target)
);
CREATE INDEX deliveries_due ON deliveries(platform, state, next_attempt_at, id);

-- Summaries by (content hash, summarizer settings), so a model is never asked twice for the same content.
CREATE TABLE summaries (
	key         TEXT PRIMARY KEY,
	value       TEXT NOT NULL,
	created_at  INTEGER NOT NULL
);
