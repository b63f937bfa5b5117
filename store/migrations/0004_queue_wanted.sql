-- A story the pipeline meant to queue is marked before it is summarized and queued, so a crash
-- or a failed queue in between leaves a visible, resumable story instead of one never delivered.
ALTER TABLE stories ADD COLUMN queue_wanted INTEGER NOT NULL DEFAULT 0;
CREATE INDEX stories_awaiting_queue ON stories(id) WHERE queue_wanted = 1 AND queued_at = 0;
