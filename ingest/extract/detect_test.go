package extract

import "testing"

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Kind
	}{
		{"html5 page", "<!DOCTYPE html>\n<html lang=en><head><title>x</title></head><body><p>hi</p></body></html>", HTML},
		{"html without doctype", "  <html><body>hi</body></html>", HTML},
		{"html fragment", "<p>Just a paragraph.</p>", HTML},
		{"html after a comment", "<!-- generated --><!doctype HTML><html></html>", HTML},
		{"xhtml with xml prolog", `<?xml version="1.0"?><!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "x"><html xmlns="http://www.w3.org/1999/xhtml"></html>`, HTML},
		{"rss 2.0", `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel><title>t</title></channel></rss>`, FeedXML},
		{"rss with stylesheet pi", `<?xml version="1.0"?><?xml-stylesheet type="text/xsl" href="/feed.xsl"?><rss version="2.0"><channel/></rss>`, FeedXML},
		{"atom", `<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title></feed>`, FeedXML},
		{"rdf rss 1.0", `<?xml version="1.0"?><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/"><channel/></rdf:RDF>`, FeedXML},
		{"feed with bom", "\ufeff<rss version=\"2.0\"><channel/></rss>", FeedXML},
		{"json feed 1.1", `{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": []}`, FeedJSON},
		{"truncated json feed", `{"version": "https://jsonfeed.org/version/1", "title": "t", "items": [{"id": "1"`, FeedJSON},
		{"other json", `{"title": "not a feed"}`, Text},
		{"plain text", "The United States has wrapped up talks.\n\nA second paragraph.", Text},
		{"text mentioning tags", "Use the <p> element for paragraphs, she said.", Text},
		{"empty", "", Text},
		{"whitespace", " \n\t", Text},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Detect([]byte(tc.in)); got != tc.want {
				t.Errorf("Detect = %v, want %v", got, tc.want)
			}
		})
	}
}
