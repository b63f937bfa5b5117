package summarize

import (
	"reflect"
	"testing"
)

func TestSplitSentences(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
	}{
		{"empty", "", nil},
		{"only space", " \n\n\t ", nil},
		{"one without period", "Council approves budget", []string{"Council approves budget"}},
		{"two plain", "The council met. It voted.", []string{"The council met.", "It voted."}},
		{"acronym mid sentence", "The U.S. economy grew. Prices fell.", []string{"The U.S. economy grew.", "Prices fell."}},
		{"acronym at end before starter", "She moved to the U.S. The move was quick.", []string{"She moved to the U.S.", "The move was quick."}},
		{"acronym before name", "The U.S. Senate voted.", []string{"The U.S. Senate voted."}},
		{"titles", "Mr. Smith and Dr. Jones met Mrs. Brown. They talked.", []string{"Mr. Smith and Dr. Jones met Mrs. Brown.", "They talked."}},
		{"month abbreviation", "It opened on Jan. 5 in Paris. Crowds came.", []string{"It opened on Jan. 5 in Paris.", "Crowds came."}},
		{"initials", "J. K. Rowling wrote it. George W. Bush read it.", []string{"J. K. Rowling wrote it.", "George W. Bush read it."}},
		{"decimals", "Growth was 3.5 percent. Inflation hit 2.1%.", []string{"Growth was 3.5 percent.", "Inflation hit 2.1%."}},
		{"quote comma", `"We will win," he said. "We must."`, []string{`"We will win," he said.`, `"We must."`}},
		{"quote ending with period", `He said "no." Then he left.`, []string{`He said "no."`, "Then he left."}},
		{"curly quote exclamation then attribution", "“Stop!” she shouted. Nobody did.", []string{"“Stop!” she shouted.", "Nobody did."}},
		{"question then lower-case", "Who knew? nobody did, it seems.", []string{"Who knew? nobody did, it seems."}},
		{"ellipsis mid sentence", "He paused... then went on. Next came more.", []string{"He paused... then went on.", "Next came more."}},
		{"ellipsis end", "It was over… The crowd left.", []string{"It was over…", "The crowd left."}},
		{"company", "Apple Inc. said sales rose. Shares fell.", []string{"Apple Inc. said sales rose.", "Shares fell."}},
		{"company at end", "He works for Apple Inc. The firm declined to comment.", []string{"He works for Apple Inc.", "The firm declined to comment."}},
		{"number abbreviation", "He wore No. 10 for years. Fans loved it.", []string{"He wore No. 10 for years.", "Fans loved it."}},
		{"e.g.", "Some fruit, e.g. Apples, are red. Others are not.", []string{"Some fruit, e.g. Apples, are red.", "Others are not."}},
		{"times", "It starts at 9 a.m. Eastern time. Doors open early.", []string{"It starts at 9 a.m. Eastern time.", "Doors open early."}},
		{"paragraph heading", "Budget Talks\n\nThe council met today.", []string{"Budget Talks", "The council met today."}},
		{"single newline is space", "The council\nmet today. It voted.", []string{"The council met today.", "It voted."}},
		{"bracket closes", "It rose (by 5%.) Then it fell.", []string{"It rose (by 5%.)", "Then it fell."}},
		{"sentence starting with digit", "Sales fell in 2004. 2005 was better.", []string{"Sales fell in 2004.", "2005 was better."}},
		{"url", "Visit example.com for more. Thanks.", []string{"Visit example.com for more.", "Thanks."}},
		{"german abbreviations", "Es gibt z.B. Äpfel und Birnen. Das ist gut.", []string{"Es gibt z.B. Äpfel und Birnen.", "Das ist gut."}},
		{"german ordinal date", "Am 3. Oktober 1990 kam die Einheit. Alle feierten.", []string{"Am 3. Oktober 1990 kam die Einheit.", "Alle feierten."}},
		{"german quotes", "„Wir schaffen das.“ Sie sagte es oft.", []string{"„Wir schaffen das.“", "Sie sagte es oft."}},
		{"french guillemets", "Il a dit : « C'est fini. » Puis il est parti.", []string{"Il a dit : « C'est fini. »", "Puis il est parti."}},
		{"french monsieur initial", "M. Dupont est arrivé. Il a parlé.", []string{"M. Dupont est arrivé.", "Il a parlé."}},
		{"spanish inverted marks", "¿Qué pasó? ¡Nadie lo sabe! El Sr. García calla.", []string{"¿Qué pasó?", "¡Nadie lo sabe!", "El Sr. García calla."}},
		{"spanish EE.UU.", "Viajó a EE.UU. para una reunión. Volvió ayer.", []string{"Viajó a EE.UU. para una reunión.", "Volvió ayer."}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := SplitSentences(tc.in)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("SplitSentences(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestTruncateText(t *testing.T) {
	tests := []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"fits", "Short one. Two.", 100, "Short one. Two."},
		{"keeps whole sentences", "First sentence here. Second sentence is longer.", 25, "First sentence here."},
		{"cuts at a word", "Averyveryverylong sentence without any end in sight at all", 20, "Averyveryverylong…"},
		{"unicode counted as characters", "Über Öl. Ärger folgt.", 8, "Über Öl."},
		{"no limit", "Anything goes.", 0, "Anything goes."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := TruncateText(tc.in, tc.max)
			if got != tc.want {
				t.Errorf("TruncateText(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}
