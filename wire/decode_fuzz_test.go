package wire

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"testing"
)

// decodeOracle decodes an upstream body the slow, obviously correct way,
// straight from docs/contract.md §1.2: encoding/json checks the syntax, the last
// top-level key equal to "numbers" under ASCII case folding wins
// (encoding/json's rule for duplicates), and its value must be an array
// whose every element is a JSON integer token within int64. It also says how
// many keys matched, because a decoder may reasonably reject a body that
// repeats the key.
func decodeOracle(b []byte) (nums []int64, ok bool, matches int) {
	if !json.Valid(b) {
		return nil, false, 0
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, false, 0
	}
	var raw json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, false, 0
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false, 0
		}
		if key, _ := tok.(string); asciiEqualFold(key, "numbers") {
			raw, matches = v, matches+1
		}
	}
	var elems []json.RawMessage
	if matches == 0 || json.Unmarshal(raw, &elems) != nil || elems == nil {
		return nil, false, matches
	}
	nums = make([]int64, 0, len(elems))
	for _, e := range elems {
		n, err := strconv.ParseInt(string(e), 10, 64)
		if err != nil {
			return nil, false, matches
		}
		nums = append(nums, n)
	}
	return nums, true, matches
}

func asciiEqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// decodeSeeds are bodies worth starting from: valid, almost valid and hostile.
var decodeSeeds = []string{
	`{"numbers":[1,2,3]}`,
	`{"Numbers":[3,-1,3]}`,
	`{"NUMBERS":[]}`,
	" {\n\"numbers\" : [ 1 , 2 ]\t}\r\n",
	`{"num\u0062ers":[1]}`,
	`{"numbers":[1],"numbers":[2]}`,
	`{"numbers":[1],"Numbers":null}`,
	`{"numbers":null}`,
	`{"numbers":[1,null]}`,
	`{"numbers":[1.0]}`,
	`{"numbers":[1e3]}`,
	`{"numbers":[-0]}`,
	`{"numbers":[01]}`,
	`{"numbers":[9223372036854775807,-9223372036854775808]}`,
	`{"numbers":[9223372036854775808]}`,
	`{"numbers":["1"]}`,
	`{"numbers":[1,]}`,
	`{"a":[1,,2],"numbers":[1]}`,
	`{"a":"\x","numbers":[1]}`,
	`{"a":tru,"numbers":[1]}`,
	`{"numbers":[1]}x`,
	`{"numbers":[1]`,
	`[1,2]`,
	`null`,
	``,
	// The shape Decode reads without go-json (soleNumbers), and its near misses.
	`{"nUmBeRs":[5,4]}`,
	`{"numbers" :[1]} `,
	`{"numbers":[1]}}`,
	`{"numbers":[1]],}`,
	`{"numbers":[1],"x":2}`,
	`{"numbers":{"a":1}}`,
	`{"number5":[1]}`,
	`{"numbers[1]}`,
	`{"numbers":}`,
	`{"numbers":[1] "}`,
	"{\"numbers\":[1]\x00}",
}

// FuzzDecode checks that Decode never panics and, whenever it succeeds,
// returns exactly what the oracle returns; and that it does not reject a body
// the oracle accepts unless the body repeats the key.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := Decode(bytes.Clone(b))
		want, ok, matches := decodeOracle(b)
		switch {
		case err == nil && !ok:
			t.Fatalf("Decode(%q) = %v, but the body is not valid", b, got)
		case err == nil && !slices.Equal(got, want):
			t.Fatalf("Decode(%q) = %v, want %v", b, got, want)
		case err == nil && got == nil:
			t.Fatalf("Decode(%q) succeeded with a nil slice", b)
		case err != nil && ok && matches == 1:
			t.Fatalf("Decode(%q) failed (%v), want %v", b, err, want)
		}
	})
}

func TestDecodeSeeds(t *testing.T) {
	for _, s := range decodeSeeds {
		t.Run(s, func(t *testing.T) {
			got, err := Decode([]byte(s))
			want, ok, _ := decodeOracle([]byte(s))
			if (err == nil) != ok || !slices.Equal(got, want) {
				t.Errorf("Decode = %v, %v; oracle = %v, %v", got, err, want, ok)
			}
		})
	}
}
