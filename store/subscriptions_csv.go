package store

import (
	"context"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// RowError is one CSV row that was not imported, with its 1-based line number in the file.
type RowError struct {
	Line       int
	ExternalID string // when the row had one
	Reason     string
}

// String is the row error as the import report prints it, with the line and external id.
func (e RowError) String() string {
	if e.ExternalID != "" {
		return fmt.Sprintf("line %d (%s): %s", e.Line, e.ExternalID, e.Reason)
	}
	return fmt.Sprintf("line %d: %s", e.Line, e.Reason)
}

// ImportReport summarizes a CSV import.
type ImportReport struct {
	Rows      int // data rows read (the header excluded)
	Created   int
	Updated   int
	Unchanged int
	Invalid   int
	// Errors lists invalid rows in file order, at most MaxImportErrors of them (Invalid counts all).
	Errors []RowError
	// IgnoredColumns lists header columns Herald does not know.
	IgnoredColumns []string
}

// Summary is the one-line result an operator reads at the end of an import.
func (r ImportReport) Summary() string {
	return fmt.Sprintf("%d rows: %d created, %d updated, %d unchanged, %d invalid", r.Rows, r.Created, r.Updated, r.Unchanged, r.Invalid)
}

// MaxImportErrors bounds the row errors kept in an ImportReport, so a wrong file cannot exhaust memory.
const MaxImportErrors = 1000

// importBatch is the number of rows per write transaction: large enough that commits do not
// dominate, small enough that API writes are not held up for long behind an import.
const importBatch = 2000

var (
	csvRequired = []string{"external_id", "status", "current_period_end"}
	csvOptional = []string{"email", "plan", "grace_until"}
)

// ImportSubscriptionsCSV upserts subscriptions from CSV with a header row naming the columns
// external_id, email, plan, status, current_period_end and optionally grace_until, in any order.
// Dates are RFC 3339 or YYYY-MM-DD (midnight UTC); an empty grace_until means no grace.
// A byte-order mark and CRLF line ends are accepted. A bad row (or a repeated external_id,
// whose first row wins) is reported with its line number and does not stop the others.
// progress, when non-nil, is called with the number of rows read after each committed batch.
// The error is non-nil only when the file as a whole cannot be imported (no usable header, I/O, database).
func (s *Store) ImportSubscriptionsCSV(ctx context.Context, r io.Reader, progress func(rows int)) (ImportReport, error) {
	var rep ImportReport
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return rep, errors.New("store: import subscriptions: empty file: a header row is required")
	}
	if err != nil {
		return rep, fmt.Errorf("store: import subscriptions: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		if i == 0 {
			h = strings.TrimPrefix(h, "\ufeff")
		}
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := col[h]; dup {
			return rep, fmt.Errorf("store: import subscriptions: header: column %q appears twice", h)
		}
		col[h] = i
	}
	for _, name := range csvRequired {
		if _, ok := col[name]; !ok {
			return rep, fmt.Errorf("store: import subscriptions: header: missing column %q (need %s; optional %s)",
				name, strings.Join(csvRequired, ","), strings.Join(csvOptional, ","))
		}
	}
	known := map[string]bool{}
	for _, n := range append(append([]string{}, csvRequired...), csvOptional...) {
		known[n] = true
	}
	for _, h := range header {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !known[h] {
			rep.IgnoredColumns = append(rep.IgnoredColumns, h)
		}
	}
	field := func(rec []string, name string) string {
		i, ok := col[name]
		if !ok || i >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[i])
	}
	bad := func(line int, id, reason string) {
		rep.Invalid++
		if len(rep.Errors) < MaxImportErrors {
			rep.Errors = append(rep.Errors, RowError{Line: line, ExternalID: truncateText(id, 60), Reason: reason})
		}
	}

	seen := map[string]int{} // external id → line first seen
	batch := make([]csvRow, 0, importBatch)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := s.tx(ctx, func(tx *sql.Tx) error {
			st, err := prepareSubStmts(ctx, tx)
			if err != nil {
				return err
			}
			defer st.close()
			now := s.now()
			for _, row := range batch {
				_, ch, err := st.upsert(ctx, row.sub, now)
				if err != nil {
					return fmt.Errorf("line %d: %w", row.line, err)
				}
				switch ch {
				case SubscriptionCreated:
					rep.Created++
				case SubscriptionUpdated:
					rep.Updated++
				case SubscriptionUnchanged:
					rep.Unchanged++
				}
			}
			return nil
		})
		batch = batch[:0]
		if err != nil {
			return err
		}
		if progress != nil {
			progress(rep.Rows)
		}
		return nil
	}
	// A transaction that fails must not leave its counts behind.
	flushCounted := func() error {
		saved := rep
		if err := flush(); err != nil {
			rep.Created, rep.Updated, rep.Unchanged = saved.Created, saved.Updated, saved.Unchanged
			return err
		}
		return nil
	}

	lastErrLine := -1
	for {
		if err := ctx.Err(); err != nil {
			return rep, fmt.Errorf("store: import subscriptions: %w", err)
		}
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			// The reader resumes at the next record after a syntax error; a reader stuck on one line is a broken file.
			if pe.StartLine == lastErrLine {
				return rep, fmt.Errorf("store: import subscriptions: line %d: %w", pe.StartLine, err)
			}
			lastErrLine = pe.StartLine
			rep.Rows++
			bad(pe.StartLine, "", "malformed CSV: "+pe.Err.Error())
			continue
		}
		if err != nil {
			return rep, fmt.Errorf("store: import subscriptions: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // a blank line
		}
		rep.Rows++
		if len(rec) != len(header) {
			bad(line, field(rec, "external_id"), fmt.Sprintf("has %d fields, the header has %d", len(rec), len(header)))
			continue
		}
		sub, ferr := subscriptionFromRow(field, rec)
		if ferr == nil {
			ferr = sub.Validate()
		}
		if ferr != nil {
			reason := ferr.Error()
			var fe *FieldError
			if errors.As(ferr, &fe) {
				reason = fe.Field + " " + fe.Reason
			}
			bad(line, field(rec, "external_id"), reason)
			continue
		}
		if first, dup := seen[sub.ExternalID]; dup {
			bad(line, sub.ExternalID, fmt.Sprintf("external_id repeats line %d, whose row was kept", first))
			continue
		}
		seen[sub.ExternalID] = line
		batch = append(batch, csvRow{line: line, sub: sub})
		if len(batch) == importBatch {
			if err := flushCounted(); err != nil {
				return rep, fmt.Errorf("store: import subscriptions: %w", err)
			}
		}
	}
	if err := flushCounted(); err != nil {
		return rep, fmt.Errorf("store: import subscriptions: %w", err)
	}
	return rep, nil
}

type csvRow struct {
	line int
	sub  Subscription
}

func subscriptionFromRow(field func([]string, string) string, rec []string) (Subscription, error) {
	sub := Subscription{
		ExternalID: field(rec, "external_id"),
		Email:      field(rec, "email"),
		Plan:       field(rec, "plan"),
		Status:     field(rec, "status"),
	}
	var err error
	if sub.CurrentPeriodEnd, err = ParseDate(field(rec, "current_period_end")); err != nil {
		return sub, &FieldError{"current_period_end", err.Error()}
	}
	if sub.GraceUntil, err = ParseDate(field(rec, "grace_until")); err != nil {
		return sub, &FieldError{"grace_until", err.Error()}
	}
	return sub, nil
}

// ParseDate parses an RFC 3339 time or a YYYY-MM-DD date (midnight UTC); the empty string is the zero time.
func ParseDate(v string) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not an RFC 3339 time or a YYYY-MM-DD date", truncateText(v, 40))
}
