package main

import (
	"encoding/json"
	"io"
)

// writeJSONLine writes v as one indented JSON document followed by a newline.
func writeJSONLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}
