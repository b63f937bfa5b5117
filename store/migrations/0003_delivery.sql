-- Delivery ordering: claims follow the story's publication order without joining stories for every pending row.
ALTER TABLE deliveries ADD COLUMN published_at INTEGER NOT NULL DEFAULT 0;
UPDATE deliveries SET published_at = COALESCE((SELECT published_at FROM stories WHERE stories.id = deliveries.story_id), 0);
CREATE INDEX deliveries_claim ON deliveries(platform, kind, state, published_at, story_id, id);
-- The few unfinished posts per channel, to hold a channel's later stories until its earlier one is final.
CREATE INDEX deliveries_open_posts ON deliveries(platform, target, published_at, story_id)
	WHERE kind = 'post' AND state IN ('pending', 'sending');
-- Queued DMs per link, to skip a recipient's rows quickly once it is unreachable.
CREATE INDEX deliveries_link ON deliveries(link_id) WHERE link_id IS NOT NULL;
-- deliveries_claim serves every query deliveries_due did; one index fewer to maintain on a 100k-row fan-out.
DROP INDEX deliveries_due;
