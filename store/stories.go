package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Story is one article Herald knows about.
type Story struct {
	ID           int64
	Origin       string // "feed:<id>", "push" or "cli"
	GUID         string
	FeedID       int64 // 0 when not from a feed
	URL          string
	Title        string
	Byline       string
	SiteName     string
	Excerpt      string
	Body         Body
	Text         string
	ImageURL     string
	Lang         string
	ContentHash  string
	ExtractError string
	Summary      string
	Summarizer   string
	SummaryModel string
	PublishedAt  time.Time
	QueuedAt     time.Time
	// QueueWanted marks a new story the pipeline will summarize and queue; see StoriesAwaitingQueue.
	QueueWanted bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// HasFullText reports whether the story has extracted text that may be sent to entitled readers.
func (s *Story) HasFullText() bool { return len(s.Body) > 0 && s.ExtractError == "" }

// ContentHash returns the hash that identifies a story's content, used for change detection and the summary cache.
func ContentHash(title, text string) string {
	h := sha256.New()
	h.Write([]byte(strings.TrimSpace(title)))
	h.Write([]byte{0})
	h.Write([]byte(strings.TrimSpace(text)))
	return hex.EncodeToString(h.Sum(nil))
}

// UpsertResult says what UpsertStory did.
type UpsertResult int

// Outcomes of UpsertStory.
const (
	StoryCreated   UpsertResult = iota + 1 // a new story was stored
	StoryUpdated                           // same identity, new content: stored, not re-posted
	StoryUnchanged                         // already known with the same content
)

// UpsertStory stores a story identified by (Origin, GUID), or — when another origin
// already has a story with the same canonical URL — recognizes it as that story.
// Body, Text and ContentHash are derived when Text or ContentHash are empty.
// The returned story carries its ID; existing summaries and queue state are kept.
func (s *Store) UpsertStory(ctx context.Context, st Story) (Story, UpsertResult, error) {
	if st.Origin == "" || st.GUID == "" {
		return Story{}, 0, errors.New("store: upsert story: origin and guid are required")
	}
	if st.Text == "" && len(st.Body) > 0 {
		st.Text = st.Body.PlainText()
	}
	if st.ContentHash == "" {
		st.ContentHash = ContentHash(st.Title, st.Text+"\x00"+st.Excerpt)
	}
	body, err := MarshalBody(st.Body)
	if err != nil {
		return Story{}, 0, fmt.Errorf("store: upsert story: %w", err)
	}
	var res UpsertResult
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		var hash string
		err := tx.QueryRowContext(ctx, `SELECT id, content_hash FROM stories WHERE origin = ? AND guid = ?`, st.Origin, st.GUID).Scan(&id, &hash)
		if errors.Is(err, sql.ErrNoRows) && st.URL != "" {
			err = tx.QueryRowContext(ctx, `SELECT id, content_hash FROM stories WHERE url = ? AND url <> '' ORDER BY id LIMIT 1`, st.URL).Scan(&id, &hash)
		}
		now := s.now()
		switch {
		case errors.Is(err, sql.ErrNoRows):
			r, err := tx.ExecContext(ctx, `INSERT INTO stories (origin, guid, feed_id, url, title, byline, site_name, excerpt, body, text,
				image_url, lang, content_hash, extract_error, summary, summarizer, summary_model, published_at, queue_wanted, created_at, updated_at)
				VALUES (?, ?, NULLIF(?, 0), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				st.Origin, st.GUID, st.FeedID, st.URL, st.Title, st.Byline, st.SiteName, st.Excerpt, body, st.Text,
				st.ImageURL, st.Lang, st.ContentHash, st.ExtractError, st.Summary, st.Summarizer, st.SummaryModel, ms(st.PublishedAt), st.QueueWanted, now, now)
			if err != nil {
				return err
			}
			st.ID, err = r.LastInsertId()
			res = StoryCreated
			return err
		case err != nil:
			return err
		}
		st.ID = id
		if hash == st.ContentHash {
			res = StoryUnchanged
			return nil
		}
		res = StoryUpdated
		_, err = tx.ExecContext(ctx, `UPDATE stories SET url = CASE WHEN ? <> '' THEN ? ELSE url END, title = ?, byline = ?, site_name = ?, excerpt = ?, body = ?, text = ?,
			image_url = ?, lang = ?, content_hash = ?, extract_error = ?, updated_at = ? WHERE id = ?`,
			st.URL, st.URL, st.Title, st.Byline, st.SiteName, st.Excerpt, body, st.Text, st.ImageURL, st.Lang, st.ContentHash, st.ExtractError, now, id)
		return err
	})
	if err != nil {
		return Story{}, 0, fmt.Errorf("store: upsert story: %w", err)
	}
	got, err := s.GetStory(ctx, st.ID)
	return got, res, err
}

// SetStorySummary records the summary of a story and which summarizer (and model) made it.
func (s *Store) SetStorySummary(ctx context.Context, id int64, summary, summarizer, model string) error {
	r, err := s.write.ExecContext(ctx, `UPDATE stories SET summary = ?, summarizer = ?, summary_model = ?, updated_at = ? WHERE id = ?`,
		summary, summarizer, model, s.now(), id)
	if err != nil {
		return fmt.Errorf("store: set story summary: %w", err)
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("store: set story summary %d: %w", id, ErrNotFound)
	}
	return nil
}

const storyCols = `id, origin, guid, feed_id, url, title, byline, site_name, excerpt, body, text, image_url, lang,
	content_hash, extract_error, summary, summarizer, summary_model, published_at, queued_at, queue_wanted, created_at, updated_at`

type scanner interface{ Scan(...any) error }

// querier is what *sql.DB and *sql.Tx both offer for reading rows.
type querier interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}

// queryAll runs query and turns every row into a T with scan: the one row loop of the package.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func scanStory(r scanner) (Story, error) {
	var st Story
	var body string
	var feedID sql.NullInt64
	var pub, queued, created, updated int64
	err := r.Scan(&st.ID, &st.Origin, &st.GUID, &feedID, &st.URL, &st.Title, &st.Byline, &st.SiteName, &st.Excerpt, &body, &st.Text,
		&st.ImageURL, &st.Lang, &st.ContentHash, &st.ExtractError, &st.Summary, &st.Summarizer, &st.SummaryModel, &pub, &queued, &st.QueueWanted, &created, &updated)
	if err != nil {
		return Story{}, err
	}
	st.FeedID = feedID.Int64
	if st.Body, err = UnmarshalBody(body); err != nil {
		return Story{}, fmt.Errorf("story %d body: %w", st.ID, err)
	}
	st.PublishedAt, st.QueuedAt, st.CreatedAt, st.UpdatedAt = fromMS(pub), fromMS(queued), fromMS(created), fromMS(updated)
	return st, nil
}

// GetStory returns the story with id, or ErrNotFound.
func (s *Store) GetStory(ctx context.Context, id int64) (Story, error) {
	st, err := scanStory(s.read.QueryRowContext(ctx, `SELECT `+storyCols+` FROM stories WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Story{}, fmt.Errorf("store: story %d: %w", id, ErrNotFound)
	}
	if err != nil {
		return Story{}, fmt.Errorf("store: get story: %w", err)
	}
	return st, nil
}

// StoryByGUID returns the story an origin knows by guid, or ErrNotFound.
func (s *Store) StoryByGUID(ctx context.Context, origin, guid string) (Story, error) {
	st, err := scanStory(s.read.QueryRowContext(ctx, `SELECT `+storyCols+` FROM stories WHERE origin = ? AND guid = ?`, origin, guid))
	if errors.Is(err, sql.ErrNoRows) {
		return Story{}, fmt.Errorf("store: story by guid: %w", ErrNotFound)
	}
	if err != nil {
		return Story{}, fmt.Errorf("store: story by guid: %w", err)
	}
	return st, nil
}

// LatestStories returns up to n stories, newest published first.
func (s *Store) LatestStories(ctx context.Context, n int) ([]Story, error) {
	out, err := queryAll(ctx, s.read, scanStory, `SELECT `+storyCols+` FROM stories ORDER BY published_at DESC, id DESC LIMIT ?`, n)
	if err != nil {
		return nil, fmt.Errorf("store: latest stories: %w", err)
	}
	return out, nil
}

// SearchStories returns up to n stories matching every word of query in title or text, newest first.
// The query is plain words; FTS syntax characters are neutralized so a reader cannot break the query.
func (s *Store) SearchStories(ctx context.Context, query string, n int) ([]Story, error) {
	match := ftsQuery(query)
	if match == "" {
		return nil, nil
	}
	// The FTS doclist is materialized once; the middle query walks the covering index
	// stories_published newest first and stops after n, so the large rows (whose
	// published_at sits behind the body's overflow pages) are loaded only n times.
	out, err := queryAll(ctx, s.read, scanStory, `SELECT `+storyCols+` FROM stories WHERE id IN (
			SELECT id FROM stories INDEXED BY stories_published
			WHERE id IN (SELECT docid FROM stories_fts WHERE stories_fts MATCH ?)
			ORDER BY published_at DESC, id DESC LIMIT ?)
		ORDER BY published_at DESC, id DESC`, match, n)
	if err != nil {
		return nil, fmt.Errorf("store: search stories: %w", err)
	}
	return out, nil
}

// ftsQuery turns reader input into an FTS4 query of quoted terms (implicit AND), the last one a prefix.
func ftsQuery(q string) string {
	words := strings.FieldsFunc(q, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) })
	if len(words) > 16 {
		words = words[:16]
	}
	for i, w := range words {
		words[i] = `"` + w + `"`
	}
	if len(words) > 0 {
		last := words[len(words)-1]
		words[len(words)-1] = last[:len(last)-1] + `*"`
	}
	return strings.Join(words, " ")
}

// RecentStoryTitles returns (id, title) of recent stories whose title contains prefix (case-insensitive), for autocomplete.
func (s *Store) RecentStoryTitles(ctx context.Context, contains string, n int) ([]Story, error) {
	out, err := queryAll(ctx, s.read, scanStory, `SELECT `+storyCols+` FROM stories WHERE title LIKE '%' || ? || '%' ESCAPE '\'
		ORDER BY published_at DESC, id DESC LIMIT ?`, escapeLike(contains), n)
	if err != nil {
		return nil, fmt.Errorf("store: recent story titles: %w", err)
	}
	return out, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// StoriesAwaitingQueue returns stories created since `since` that the pipeline meant to queue but
// never did (a crash or a failed queue between storing and queuing), oldest first.
func (s *Store) StoriesAwaitingQueue(ctx context.Context, since time.Time, n int) ([]Story, error) {
	out, err := queryAll(ctx, s.read, scanStory, `SELECT `+storyCols+` FROM stories WHERE queue_wanted = 1 AND queued_at = 0 AND created_at >= ?
		ORDER BY published_at, id LIMIT ?`, ms(since), n)
	if err != nil {
		return nil, fmt.Errorf("store: stories awaiting queue: %w", err)
	}
	return out, nil
}
