package extract

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/heraldnews/herald/store"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/japanese"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

const newsURL = "https://courier.example/local/harbour-ferry-returns"

// golden compares got with testdata/name, rewriting it under -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file (run go test -run %s -update after checking):\n got: %s", name, t.Name(), got)
	}
}

func TestExtractNewsPage(t *testing.T) {
	page, err := os.ReadFile("testdata/news.html")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Extract(context.Background(), page, newsURL, "text/html", Options{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.MarshalIndent(res.Body, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "news.golden.json", append(out, '\n'))

	meta := []struct{ field, got, want string }{
		{"Title", res.Title, "Harbour ferry returns after winter repairs"},
		{"Byline", res.Byline, "Dana Whitlock"},
		{"SiteName", res.SiteName, "The Millbrook Courier"},
		{"ImageURL", res.ImageURL, "https://courier.example/images/ferry-lead.jpg"},
		{"Language", res.Language, "en"},
		{"Charset", res.Charset, "utf-8"},
		{"Published", res.Published.UTC().Format(time.RFC3339), "2024-03-14T08:30:00Z"},
	}
	for _, m := range meta {
		if m.got != m.want {
			t.Errorf("%s = %q, want %q", m.field, m.got, m.want)
		}
	}

	text := res.Body.PlainText()
	if !strings.HasPrefix(text, "The Millbrook harbour ferry carried its first passengers") {
		t.Errorf("body starts %.80q", text)
	}
	if !strings.HasSuffix(text, "which is the part I care about most.\"") {
		t.Errorf("body ends %q", text[max(0, len(text)-80):])
	}
	for _, junk := range []string{"Skip to main content", "Already a subscriber", "51234567890", "Advertisement",
		"Share", "Sign up for our", "JOIN THE MOVEMENT", "Keep up to date", "All rights reserved", "Log in"} {
		if strings.Contains(text, junk) {
			t.Errorf("body contains junk %q", junk)
		}
	}

	var kinds = map[store.BlockKind]int{}
	links := map[string]string{}
	var bold, italic []string
	for _, b := range res.Body {
		kinds[b.Kind]++
		for _, s := range b.Spans {
			if s.Href != "" {
				links[s.Text] = s.Href
			}
			if s.Bold {
				bold = append(bold, s.Text)
			}
			if s.Italic {
				italic = append(italic, s.Text)
			}
		}
	}
	if kinds[store.BlockHeading] != 2 || kinds[store.BlockListItem] != 3 {
		t.Errorf("block kinds %v, want 2 headings and 3 list items", kinds)
	}
	if links["new pontoon"] != "https://courier.example/local/new-pontoon" || links["2024 budget"] != "https://council.example/budget-2024" {
		t.Errorf("links %v, want absolute links for the pontoon and the budget", links)
	}
	if strings.Join(bold, ",") != "Millbrook harbour ferry" || strings.Join(italic, ",") != "far more,regrettable but unavoidable" {
		t.Errorf("bold %q italic %q", bold, italic)
	}
}

// articlePage wraps paragraphs in a minimal article page with the given head.
func articlePage(head string, paras ...string) string {
	var sb strings.Builder
	sb.WriteString("<html><head>" + head + "<title>Le café rouvre</title></head><body><nav><a href='/'>Accueil</a></nav><article>")
	for _, p := range paras {
		sb.WriteString("<p>" + p + "</p>\n")
	}
	sb.WriteString("</article><footer>Pied de page</footer></body></html>")
	return sb.String()
}

var frenchParas = []string{
	"Le café de la gare a rouvert ses portes lundi après six mois de travaux, à la grande joie des habitués du quartier.",
	"« Nous avons gardé le comptoir en zinc et les banquettes rouges », explique la gérante, Hélène Dubœuf, qui a repris l'établissement l'été dernier.",
	"Les prix restent modérés : un café coûte toujours un euro cinquante, et le menu du déjeuner change chaque semaine selon le marché.",
	"La mairie espère que la réouverture redonnera de l'élan à la rue commerçante, où plusieurs boutiques ont fermé depuis l'hiver dernier.",
}

func TestExtractCharsets(t *testing.T) {
	latin1 := func(s string) []byte {
		b, err := charmap.ISO8859_1.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	win1252 := func(s string) []byte {
		b, err := charmap.Windows1252.NewEncoder().Bytes([]byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	longScript := "<script>" + strings.Repeat("var filler = 1;\n", 200) + "</script>"
	// Latin-1 cannot encode œ; the Latin-1 pages use the paragraphs without it.
	plainParas := make([]string, len(frenchParas))
	for i, p := range frenchParas {
		plainParas[i] = strings.ReplaceAll(p, "œ", "oe")
	}
	tests := []struct {
		name, contentType string
		page              []byte
		paras             []string
	}{
		{"utf-8 declared in meta", "", []byte(articlePage(`<meta charset="utf-8">`, frenchParas...)), frenchParas},
		{"utf-8 declared nowhere", "", []byte(articlePage("", frenchParas...)), frenchParas},
		{"utf-8 with a wrong latin-1 declaration", "text/html; charset=iso-8859-1", []byte(articlePage(`<meta charset="iso-8859-1">`, frenchParas...)), frenchParas},
		{"utf-8 with byte-order mark", "", append([]byte("\xef\xbb\xbf"), articlePage("", frenchParas...)...), frenchParas},
		{"latin-1 from the header", "text/html; charset=ISO-8859-1", latin1(articlePage("", plainParas...)), plainParas},
		{"windows-1252 in a meta after a long script", "", win1252(articlePage(longScript+`<meta http-equiv="Content-Type" content="text/html; charset=windows-1252">`, frenchParas...)), frenchParas},
		{"latin-1 declared nowhere", "", latin1(articlePage("", plainParas...)), plainParas},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Extract(context.Background(), tc.page, "https://cafe.example/news/1", tc.contentType, Options{})
			if err != nil {
				t.Fatal(err)
			}
			text := res.Body.PlainText()
			for _, p := range tc.paras {
				if !strings.Contains(text, p) {
					t.Errorf("missing paragraph %.60q (charset %s); got %.200q", p, res.Charset, text)
				}
			}
			if strings.ContainsAny(text, "\ufffdÃ") {
				t.Errorf("mojibake in %.200q", text)
			}
		})
	}
}

func TestExtractShiftJIS(t *testing.T) {
	paras := []string{
		"港の渡し船が冬の修理を終えて、木曜日の朝から運航を再開しました。初便には通勤客や観光客など四十人ほどが乗り込み、新しい客室の暖かさを喜んでいました。",
		"船長によると、船体の鋼板が予想以上に薄くなっていたため、当初の見積もりより多くの部品を交換したということです。町議会は費用の内訳を公表すると約束しました。",
		"運航は平日の朝七時から夜九時まで四十分ごとで、週末は一時間ごとになります。運賃は六月末まで昨年と同じに据え置かれ、その後バスの運賃と合わせて見直される予定です。",
	}
	src := strings.Replace(articlePage(`<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">`, paras...), "Le café rouvre", "渡し船", 1)
	page, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	res, err := Extract(context.Background(), page, "https://port.example/a", "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paras {
		if !strings.Contains(res.Body.PlainText(), p) {
			t.Errorf("missing %.30q; charset %s, got %.120q", p, res.Charset, res.Body.PlainText())
		}
	}
}

func TestExtractErrors(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		page []byte
		want error
	}{
		{"over the size cap", context.Background(), make([]byte, MaxPageBytes+1), ErrTooLarge},
		{"too many elements", context.Background(), []byte("<html><body>" + strings.Repeat("<i></i>", maxElements+10) + "</body></html>"), ErrTooLarge},
		{"no article", context.Background(), []byte("<html><body><nav><a href='/'>Home</a></nav></body></html>"), ErrNoArticle},
		{"empty page", context.Background(), nil, ErrNoArticle},
		{"canceled context", canceled, []byte(articlePage("", frenchParas...)), context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Extract(tc.ctx, tc.page, "https://x.example/", "", Options{})
			if !errors.Is(err, tc.want) {
				t.Errorf("err = %v, want %v", err, tc.want)
			}
		})
	}
}

// TestExtractPathological feeds hostile markup; it passes when every case
// returns (with an article or an error) instead of hanging or crashing.
func TestExtractPathological(t *testing.T) {
	story := "<p>" + frenchParas[0] + "</p><p>" + frenchParas[2] + "</p>"
	tests := []struct {
		name string
		page string
	}{
		{"deep nesting", strings.Repeat("<div>", 20000) + story + strings.Repeat("</div>", 20000)},
		{"unclosed formatting", strings.Repeat("<b><i><a href=x>", 5000) + story},
		{"nested tables", strings.Repeat("<table><tr><td>", 3000) + story},
		{"huge attribute", `<div class="` + strings.Repeat("a", 4<<20) + `">` + story + `</div>`},
		{"one enormous paragraph", "<p>" + strings.Repeat("word ", 1<<20) + "</p>"},
		{"binary garbage", string(bytes.Repeat([]byte{0xff, 0x00, 0xfe, '<', 0x80}, 200000))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			res, err := Extract(ctx, []byte(tc.page), "https://x.example/", "", Options{})
			if errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("extraction did not finish")
			}
			if err == nil && len(res.Body) == 0 {
				t.Errorf("nil error with an empty body")
			}
		})
	}
}

func TestExtractDropPatterns(t *testing.T) {
	page := articlePage("", append([]string{"Cet article vous est offert par Le Journal du Port."}, frenchParas...)...)
	drop := []*regexp.Regexp{regexp.MustCompile(`(?i)^cet article vous est offert`)}
	res, err := Extract(context.Background(), []byte(page), "https://x.example/", "", Options{DropPatterns: drop})
	if err != nil {
		t.Fatal(err)
	}
	text := res.Body.PlainText()
	if strings.Contains(text, "offert") || !strings.Contains(text, frenchParas[0]) {
		t.Errorf("drop pattern not applied or story lost: %.200q", text)
	}
}
