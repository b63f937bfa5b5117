package store

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// crockford is Crockford's base32 alphabet: no I, L, O or U, so a typed code cannot be misread.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// LinkCodeLen is the number of symbols in a link code (50 random bits).
const LinkCodeLen = 10

// DefaultLinkCodeTTL is how long a link code stays redeemable unless the minter says otherwise.
const DefaultLinkCodeTTL = 15 * time.Minute

// MaxLinkCodeTTL bounds a code's lifetime: every live code is a target for guessing.
const MaxLinkCodeTTL = 7 * 24 * time.Hour

// ErrCodeInvalid is the one error for a link code that is unknown, malformed, expired, used, revoked
// or meant for another platform, so that no answer reveals whether a code exists.
var ErrCodeInvalid = errors.New("store: link code is invalid or expired")

// LockedOutError says a chat account made too many failed link attempts and may try again at Until.
type LockedOutError struct{ Until time.Time }

// Error says until when the account is locked out, in UTC.
func (e *LockedOutError) Error() string {
	return "store: too many failed link attempts; locked until " + e.Until.UTC().Format(time.RFC3339)
}

// LinkPolicy limits failed link-code attempts per chat account.
type LinkPolicy struct {
	// MaxAttempts failed attempts are allowed within Window; the next attempt is refused until the oldest leaves it.
	MaxAttempts int
	Window      time.Duration
}

// DefaultLinkPolicy allows 5 failed attempts per 15 minutes.
func DefaultLinkPolicy() LinkPolicy { return LinkPolicy{MaxAttempts: 5, Window: 15 * time.Minute} }

func (p LinkPolicy) withDefaults() LinkPolicy {
	d := DefaultLinkPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.Window <= 0 {
		p.Window = d.Window
	}
	return p
}

// codeWrapping is punctuation that may surround a pasted code.
const codeWrapping = " \t\n.,;:!?\"'`<>()[]{}«»‘’“”\u00a0"

// NormalizeLinkCode returns the canonical form of a typed code (upper case, dashes and spaces removed,
// O read as 0, I and L as 1) and whether it is a well-formed code at all. The canonical form is also
// the Telegram deep-link payload.
func NormalizeLinkCode(code string) (string, bool) {
	if len(code) > 4*LinkCodeLen {
		return "", false
	}
	// A code pasted from an email or a web page may come quoted or with the sentence's full stop.
	code = strings.Trim(code, codeWrapping)
	var b strings.Builder
	for _, r := range code {
		switch {
		case r == '-' || unicode.IsSpace(r) || unicode.Is(unicode.Pd, r) || r == '\u2212':
			// Phones and word processors turn the hyphen into dashes and the space into no-break spaces.
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		switch r {
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 0x7f || strings.IndexByte(crockford, byte(r)) < 0 {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != LinkCodeLen {
		return "", false
	}
	return b.String(), true
}

// FormatLinkCode shows a normalized code as the reader types it: XXXXX-XXXXX.
func FormatLinkCode(code string) string {
	if n, ok := NormalizeLinkCode(code); ok {
		return n[:5] + "-" + n[5:]
	}
	return code
}

func hashLinkCode(normalized string) string {
	h := sha256.Sum256([]byte(normalized))
	return hex.EncodeToString(h[:])
}

func newLinkCode() (string, error) {
	var buf [LinkCodeLen]byte
	if _, err := rand.Read(buf[:]); err != nil {
		return "", err
	}
	for i, v := range buf {
		buf[i] = crockford[v&31] // 256 is a multiple of 32, so every symbol is equally likely
	}
	return string(buf[:]), nil
}

// ValidLinkPlatform reports whether platform may be given to MintLinkCode: "telegram", "discord", or "" for any.
func ValidLinkPlatform(platform string) bool {
	switch platform {
	case "", "telegram", "discord":
		return true
	}
	return false
}

// MintLinkCode creates a single-use code that links a chat account on platform ("" for any platform)
// to the subscription, valid for ttl (DefaultLinkCodeTTL when ttl <= 0). It revokes the subscription's
// earlier unused code for the same platform. The code is returned in normalized form (see FormatLinkCode
// for display) and is stored only as a hash. ErrNotFound when the subscription does not exist.
func (s *Store) MintLinkCode(ctx context.Context, subscriptionID int64, platform string, ttl time.Duration) (string, time.Time, error) {
	if !ValidLinkPlatform(platform) {
		return "", time.Time{}, fmt.Errorf("store: mint link code: unknown platform %q", truncateText(platform, 40))
	}
	if ttl <= 0 {
		ttl = DefaultLinkCodeTTL
	}
	if ttl > MaxLinkCodeTTL {
		return "", time.Time{}, fmt.Errorf("store: mint link code: ttl %s is longer than %s", ttl, MaxLinkCodeTTL)
	}
	for range 3 {
		code, err := newLinkCode()
		if err != nil {
			return "", time.Time{}, fmt.Errorf("store: mint link code: random: %w", err)
		}
		now := s.now()
		expires := now + ttl.Milliseconds()
		err = s.tx(ctx, func(tx *sql.Tx) error {
			var one int
			if err := tx.QueryRowContext(ctx, `SELECT 1 FROM subscriptions WHERE id = ?`, subscriptionID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
				return ErrNotFound
			} else if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE link_codes SET revoked_at = ? WHERE subscription_id = ? AND platform = ? AND used_at = 0 AND revoked_at = 0`,
				now, subscriptionID, platform); err != nil {
				return err
			}
			// Spent codes are only history; keep a week of it for support questions.
			if _, err := tx.ExecContext(ctx, `DELETE FROM link_codes WHERE subscription_id = ? AND platform = ? AND created_at < ?
				AND (used_at <> 0 OR revoked_at <> 0 OR expires_at <= ?)`, subscriptionID, platform, now-7*24*3600*1000, now); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO link_codes (subscription_id, platform, code_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?)`,
				subscriptionID, platform, hashLinkCode(code), expires, now)
			return err
		})
		if isUnique(err) {
			continue // a 50-bit collision: draw again
		}
		if err != nil {
			return "", time.Time{}, fmt.Errorf("store: mint link code: %w", err)
		}
		return code, fromMS(expires), nil
	}
	return "", time.Time{}, errors.New("store: mint link code: no unique code after 3 draws")
}

// RevokeLinkCode makes an unused code unusable, for a code that was seen where others could read it.
// It says nothing about whether the code existed.
func (s *Store) RevokeLinkCode(ctx context.Context, code string) error {
	n, ok := NormalizeLinkCode(code)
	if !ok {
		return nil
	}
	if _, err := s.write.ExecContext(ctx, `UPDATE link_codes SET revoked_at = ? WHERE code_hash = ? AND used_at = 0 AND revoked_at = 0`,
		s.now(), hashLinkCode(n)); err != nil {
		return fmt.Errorf("store: revoke link code: %w", err)
	}
	return nil
}

// RedeemLinkCode redeems code for a chat account with DefaultLinkPolicy; see RedeemLinkCodeWithPolicy.
func (s *Store) RedeemLinkCode(ctx context.Context, platform, userID, code string) (Link, *Link, error) {
	return s.RedeemLinkCodeWithPolicy(ctx, DefaultLinkPolicy(), platform, userID, code)
}

// RedeemLinkCodeWithPolicy links the chat account (platform, userID) to the subscription the code was minted
// for, using the code up in the same transaction so that of two concurrent redeems exactly one succeeds.
// A subscription has at most one link per platform: when another account held it, that link is removed and
// returned as moved so the old account can be told. An account linked to another subscription is re-pointed.
//
// Errors: *LockedOutError when the account has used up its failed attempts (checked before the code is
// looked at); ErrCodeInvalid for every kind of bad code, each of which counts as a failed attempt.
func (s *Store) RedeemLinkCodeWithPolicy(ctx context.Context, pol LinkPolicy, platform, userID, code string) (Link, *Link, error) {
	pol = pol.withDefaults()
	if platform == "" || userID == "" {
		return Link{}, nil, errors.New("store: redeem link code: platform and user id are required")
	}
	var link Link
	var moved *Link
	var result error // a refusal that still commits (the attempt is recorded)
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := s.now()
		since := now - pol.Window.Milliseconds()
		rows, err := tx.QueryContext(ctx, `SELECT at FROM link_attempts WHERE platform = ? AND user_id = ? ORDER BY at`, platform, userID)
		if err != nil {
			return err
		}
		var ats []int64 // failed attempts inside the window
		stale := false
		for rows.Next() {
			var at int64
			if err := rows.Scan(&at); err != nil {
				rows.Close()
				return err
			}
			if at <= since {
				stale = true
				continue
			}
			ats = append(ats, at)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if stale {
			if _, err := tx.ExecContext(ctx, `DELETE FROM link_attempts WHERE platform = ? AND user_id = ? AND at <= ?`, platform, userID, since); err != nil {
				return err
			}
		}
		if len(ats) >= pol.MaxAttempts {
			// Refused until enough old attempts leave the window to bring the count below the limit.
			result = &LockedOutError{Until: fromMS(ats[len(ats)-pol.MaxAttempts] + pol.Window.Milliseconds())}
			return nil
		}
		fail := func() error {
			result = ErrCodeInvalid
			_, err := tx.ExecContext(ctx, `INSERT INTO link_attempts (platform, user_id, at) VALUES (?, ?, ?)`, platform, userID, now)
			return err
		}
		n, ok := NormalizeLinkCode(code)
		if !ok {
			return fail()
		}
		var codeID, subID, expires, used, revoked int64
		var codePlatform string
		err = tx.QueryRowContext(ctx, `SELECT id, subscription_id, platform, expires_at, used_at, revoked_at FROM link_codes WHERE code_hash = ?`,
			hashLinkCode(n)).Scan(&codeID, &subID, &codePlatform, &expires, &used, &revoked)
		if errors.Is(err, sql.ErrNoRows) {
			return fail()
		}
		if err != nil {
			return err
		}
		if used != 0 || revoked != 0 || expires <= now || (codePlatform != "" && codePlatform != platform) {
			return fail()
		}
		if _, err := tx.ExecContext(ctx, `UPDATE link_codes SET used_at = ? WHERE id = ?`, now, codeID); err != nil {
			return err
		}
		link, moved, err = s.linkTx(ctx, tx, subID, platform, userID, now)
		return err
	})
	if err != nil {
		return Link{}, nil, fmt.Errorf("store: redeem link code: %w", err)
	}
	if result != nil {
		return Link{}, nil, result
	}
	return link, moved, nil
}

// linkTx makes (platform, userID) the one link of subscription subID on platform.
func (s *Store) linkTx(ctx context.Context, tx *sql.Tx, subID int64, platform, userID string, now int64) (Link, *Link, error) {
	var moved *Link
	old, err := scanLink(tx.QueryRowContext(ctx, `SELECT `+linkCols+` FROM links l WHERE l.subscription_id = ? AND l.platform = ?`, subID, platform))
	switch {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return Link{}, nil, err
	case old.UserID == userID:
		// Already linked here: redeeming again only proves the reader can be reached.
		if _, err := tx.ExecContext(ctx, `UPDATE links SET unreachable_at = 0, unreachable_reason = '', updated_at = ? WHERE id = ?`, now, old.ID); err != nil {
			return Link{}, nil, err
		}
		old.UnreachableAt, old.UnreachableReason, old.UpdatedAt = time.Time{}, "", fromMS(now)
		return old, nil, nil
	default:
		if err := skipPendingDMs(ctx, tx, old.ID, "link moved to another account", now); err != nil {
			return Link{}, nil, err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM links WHERE id = ?`, old.ID); err != nil {
			return Link{}, nil, err
		}
		moved = &old
	}
	r, err := tx.ExecContext(ctx, `UPDATE links SET subscription_id = ?, unreachable_at = 0, unreachable_reason = '', updated_at = ?
		WHERE platform = ? AND user_id = ?`, subID, now, platform, userID)
	if err != nil {
		return Link{}, nil, err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO links (subscription_id, platform, user_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
			subID, platform, userID, now, now); err != nil {
			return Link{}, nil, err
		}
	}
	l, err := scanLink(tx.QueryRowContext(ctx, `SELECT `+linkCols+` FROM links l WHERE l.platform = ? AND l.user_id = ?`, platform, userID))
	return l, moved, err
}
