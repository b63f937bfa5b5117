package store

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

func TestImportSubscriptionsCSV(t *testing.T) {
	ctx := context.Background()
	s, _ := subTestStore(t)
	data, err := os.ReadFile("testdata/subscriptions.csv")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) || !bytes.Contains(data, []byte("\r\n")) {
		t.Fatal("testdata must start with a BOM and use CRLF")
	}
	rep, err := s.ImportSubscriptionsCSV(ctx, bytes.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 11 || rep.Created != 5 || rep.Updated != 0 || rep.Unchanged != 0 || rep.Invalid != 6 {
		t.Fatalf("report %s", rep.Summary())
	}
	wantErrs := []struct {
		line   int
		id     string
		reason string
	}{
		{6, "cus_005", "status"},
		{7, "cus_006", "current_period_end"},
		{8, "cus_001", "repeats line 2"},
		{9, "", "external_id"},
		{10, "cus_007", "fields"},
		{13, "cus_009", "current_period_end"},
	}
	if len(rep.Errors) != len(wantErrs) {
		t.Fatalf("errors %v", rep.Errors)
	}
	for i, w := range wantErrs {
		e := rep.Errors[i]
		if e.Line != w.line || e.ExternalID != w.id || !strings.Contains(e.Reason, w.reason) {
			t.Errorf("error %d = %s, want line %d %q containing %q", i, e, w.line, w.id, w.reason)
		}
	}
	one, err := s.GetSubscription(ctx, "cus_001")
	if err != nil {
		t.Fatal(err)
	}
	if one.Plan != "monthly" || !one.CurrentPeriodEnd.Equal(time.Date(2025, 4, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("the first of duplicate rows must win: %+v", one)
	}
	two, _ := s.GetSubscription(ctx, "cus_002")
	if !two.CurrentPeriodEnd.Equal(time.Date(2025, 3, 15, 10, 0, 0, 0, time.UTC)) || two.Email != "two@example.com" {
		t.Errorf("RFC 3339 row: %+v", two)
	}
	three, _ := s.GetSubscription(ctx, "cus_003")
	if !three.GraceUntil.Equal(time.Date(2025, 3, 5, 0, 0, 0, 0, time.UTC)) || !three.EntitledAt(time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("grace row: %+v", three)
	}

	// Importing the same file again changes nothing.
	rep, err = s.ImportSubscriptionsCSV(ctx, bytes.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Created != 0 || rep.Updated != 0 || rep.Unchanged != 5 || rep.Invalid != 6 {
		t.Fatalf("second import %s", rep.Summary())
	}
}

func TestImportSubscriptionsCSVEdgeCases(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		csv     string
		wantErr string // whole-file error
		summary string
		ignored string
		errs    string // the row errors, when checked
	}{
		{name: "empty", csv: "", wantErr: "empty file"},
		{name: "missing column", csv: "external_id,status\na,active\n", wantErr: `missing column "current_period_end"`},
		{name: "duplicate column", csv: "external_id,status,status,current_period_end\n", wantErr: "appears twice"},
		{name: "header only", csv: "external_id,status,current_period_end\n", summary: "0 rows: 0 created, 0 updated, 0 unchanged, 0 invalid"},
		{name: "minimal columns LF", csv: "External_ID , STATUS,current_period_end\na,active,2030-01-01\nb,expired,\n",
			summary: "2 rows: 2 created, 0 updated, 0 unchanged, 0 invalid"},
		{name: "unknown column ignored", csv: "external_id,status,current_period_end,country\na,active,2030-01-01,NZ\n",
			summary: "1 rows: 1 created, 0 updated, 0 unchanged, 0 invalid", ignored: "[country]"},
		{name: "quoted newline and bare quote", csv: "external_id,status,current_period_end,plan\na,active,2030-01-01,\"two\nlines\"\nb,act\"ive,2030-01-01,x\nc,active,2030-01-01,\"y, EU\"\n",
			summary: "3 rows: 1 created, 0 updated, 0 unchanged, 2 invalid",
			errs:    `[line 2 (a): plan contains control characters or invalid UTF-8 line 4: malformed CSV: bare " in non-quoted-field]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := subTestStore(t)
			rep, err := s.ImportSubscriptionsCSV(ctx, strings.NewReader(tc.csv), nil)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Summary() != tc.summary {
				t.Fatalf("summary %q want %q (errors %v)", rep.Summary(), tc.summary, rep.Errors)
			}
			if tc.errs != "" && fmt.Sprint(rep.Errors) != tc.errs {
				t.Fatalf("errors %v", rep.Errors)
			}
			if tc.ignored != "" && fmt.Sprint(rep.IgnoredColumns) != tc.ignored {
				t.Fatalf("ignored %v", rep.IgnoredColumns)
			}
		})
	}
}

// genCSV writes n subscription rows; variant changes every tenth plan, for update runs.
func genCSV(n, variant int) []byte {
	var b bytes.Buffer
	b.WriteString("external_id,email,plan,status,current_period_end,grace_until\r\n")
	statuses := Statuses()
	for i := range n {
		plan := "monthly"
		if i%10 == 0 && variant > 0 {
			plan = fmt.Sprintf("annual-%d", variant)
		}
		fmt.Fprintf(&b, "cus_%07d,reader%d@example.com,%s,%s,2030-%02d-%02dT00:00:00Z,\r\n", i, i, plan, statuses[i%2], 1+i%12, 1+i%28)
	}
	return b.Bytes()
}

func TestImportSubscriptionsCSVProgressAndUpdates(t *testing.T) {
	ctx := context.Background()
	s, _ := subTestStore(t)
	var calls []int
	rep, err := s.ImportSubscriptionsCSV(ctx, bytes.NewReader(genCSV(5000, 0)), func(rows int) { calls = append(calls, rows) })
	if err != nil || rep.Created != 5000 {
		t.Fatalf("%s %v", rep.Summary(), err)
	}
	if len(calls) != 3 || calls[len(calls)-1] != 5000 {
		t.Fatalf("progress calls %v", calls)
	}
	rep, err = s.ImportSubscriptionsCSV(ctx, bytes.NewReader(genCSV(5000, 1)), nil)
	if err != nil || rep.Updated != 500 || rep.Unchanged != 4500 {
		t.Fatalf("update run %s %v", rep.Summary(), err)
	}
}

// BenchmarkImportSubscriptionsCSV100k imports 100,000 new rows into an empty database per iteration.
func BenchmarkImportSubscriptionsCSV100k(b *testing.B) {
	ctx := context.Background()
	data := genCSV(100_000, 0)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		b.StopTimer()
		s, _ := subTestStore(b)
		b.StartTimer()
		rep, err := s.ImportSubscriptionsCSV(ctx, bytes.NewReader(data), nil)
		if err != nil || rep.Created != 100_000 {
			b.Fatalf("%s %v", rep.Summary(), err)
		}
	}
}

// BenchmarkReimportSubscriptionsCSV100k re-imports 100,000 rows of which a tenth changed.
func BenchmarkReimportSubscriptionsCSV100k(b *testing.B) {
	ctx := context.Background()
	s, _ := subTestStore(b)
	if _, err := s.ImportSubscriptionsCSV(ctx, bytes.NewReader(genCSV(100_000, 0)), nil); err != nil {
		b.Fatal(err)
	}
	variants := [2][]byte{genCSV(100_000, 1), genCSV(100_000, 2)}
	i := 0
	for b.Loop() {
		i++
		rep, err := s.ImportSubscriptionsCSV(ctx, bytes.NewReader(variants[i%2]), nil)
		if err != nil || rep.Updated != 10_000 {
			b.Fatalf("%s %v", rep.Summary(), err)
		}
	}
}
