package genesis

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mykeyledger/mykey/app/types"
)

func validAppStateJSON(t *testing.T) []byte {
	t.Helper()
	bz, err := json.Marshal(validDoc(t).AppState)
	if err != nil {
		t.Fatal(err)
	}
	return bz
}

func TestDecodeAppState(t *testing.T) {
	d := validDoc(t)
	bz, err := json.Marshal(d.AppState)
	if err != nil {
		t.Fatal(err)
	}
	got, err := types.DecodeGenesisState(bz)
	if err != nil {
		t.Fatalf("DecodeAppState(valid): %v", err)
	}
	if !reflect.DeepEqual(*got, d.AppState) {
		t.Fatalf("decoded app state differs:\n got %+v\nwant %+v", *got, d.AppState)
	}

	// Times written with an offset come back as the same instant in UTC.
	jst := strings.Replace(string(bz), `"link_start":"2020-09-01T00:00:00Z"`, `"link_start":"2020-09-01T09:00:00+09:00"`, 1)
	if jst == string(bz) {
		t.Fatal("test setup: link_start not found in JSON")
	}
	got, err = types.DecodeGenesisState([]byte(jst))
	if err != nil {
		t.Fatalf("DecodeAppState(JST time): %v", err)
	}
	if !reflect.DeepEqual(got.Programs[0].LinkStart, t0) {
		t.Fatalf("link_start = %v (%v), want %v UTC", got.Programs[0].LinkStart, got.Programs[0].LinkStart.Location(), t0)
	}
}

func TestDecodeAppStateRejects(t *testing.T) {
	valid := string(validAppStateJSON(t))
	tests := []struct {
		name, json, want string
	}{
		{"empty", "", "genesis: app_state is empty"},
		{"null", "null", "genesis: app_state is null"},
		{"bad JSON", `{"government": {`, "genesis: app_state: bad JSON: unexpected end of input"},
		{"syntax error", `{"government": }`, "genesis: app_state: bad JSON at byte 16: invalid character '}'"},
		{"unknown top-level field", strings.Replace(valid, `"government":`, `"governmnet":{},"government":`, 1),
			`genesis: app_state: unknown field "governmnet"`},
		{"unknown nested field", strings.Replace(valid, `"id":"paypay"`, `"id":"paypay","account":"123"`, 1),
			`genesis: app_state: unknown field "account"`},
		{"trailing data", valid + ` {}`, "genesis: app_state: bad JSON: unexpected data after the object"},
		{"wrong type", strings.Replace(valid, `"threshold":2`, `"threshold":"2"`, 1),
			"genesis: app_state: bad JSON: government.threshold is a JSON string, want uint32"},
		{"bad hex", strings.Replace(valid, `"grant_key":"`+edKey(20).String()+`"`, `"grant_key":"zz"`, 1),
			`bad hex string "zz"`},
		{"bad time", strings.Replace(valid, `"link_start":"2020-09-01T00:00:00Z"`, `"link_start":"2020-09-01"`, 1),
			"genesis: app_state: bad JSON"},
		{"valid JSON, invalid state", strings.Replace(valid, `"threshold":2`, `"threshold":0`, 1),
			"genesis: government.threshold must be at least 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.json == valid && tc.name != "empty" {
				t.Fatal("test setup: replacement did not apply")
			}
			a, err := types.DecodeGenesisState([]byte(tc.json))
			if err == nil {
				t.Fatalf("DecodeAppState accepted %s", tc.json)
			}
			if a != nil {
				t.Errorf("DecodeAppState returned a state with its error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "genesis: ") {
				t.Fatalf("error = %q; want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestHexBytesJSON(t *testing.T) {
	bz, err := json.Marshal(struct{ K, E types.HexBytes }{types.HexBytes{0xAB, 0x01}, nil})
	if err != nil {
		t.Fatal(err)
	}
	if string(bz) != `{"K":"ab01","E":""}` {
		t.Fatalf("marshal = %s", bz)
	}
	var v struct{ K, E, N types.HexBytes }
	if err := json.Unmarshal([]byte(`{"K":"AB01","E":"","N":null}`), &v); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v.K, types.HexBytes{0xab, 0x01}) || v.E != nil || v.N != nil {
		t.Fatalf("unmarshal = %#v", v)
	}
	if err := json.Unmarshal([]byte(`{"K":12}`), &v); err == nil || !strings.Contains(err.Error(), "want a hex string") {
		t.Fatalf("unmarshal of a number = %v", err)
	}
}

func TestProgramProtoRoundTrip(t *testing.T) {
	for _, p := range validDoc(t).AppState.Programs {
		pb, err := p.Proto()
		if err != nil {
			t.Fatalf("%s: Proto: %v", p.ID, err)
		}
		if pb.LinkStart != t0.Unix() || pb.LinkEnd != t1.Unix() || pb.GrantStart != 1598918400 || pb.GrantEnd != 1617148800 {
			t.Fatalf("%s: times = %d %d %d %d, want Unix seconds", p.ID, pb.LinkStart, pb.LinkEnd, pb.GrantStart, pb.GrantEnd)
		}
		if back := types.GenesisProgramFromProto(pb); !reflect.DeepEqual(back, p) {
			t.Fatalf("%s: round trip differs:\n got %+v\nwant %+v", p.ID, back, p)
		}
	}

	p := validDoc(t).AppState.Programs[0]
	pb, _ := p.Proto()
	want := &types.Program{
		Id: "mynapoint-1", Name: "MyNa Point phase 1", Kind: types.ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE,
		RateBp: 2500, CapYen: 5000, BudgetYen: 200_000_000_000,
		LinkStart: 1598918400, LinkEnd: 1617148800, GrantStart: 1598918400, GrantEnd: 1617148800,
	}
	if !reflect.DeepEqual(pb, want) {
		t.Fatalf("Proto = %+v\nwant %+v", pb, want)
	}

	// A fixed program's cap defaults to its amount.
	f := NewProgramFixed("fixed", 7500, 1_000_000, t0, t1)
	f.CapYen = 0
	fb, err := f.Proto()
	if err != nil {
		t.Fatal(err)
	}
	if fb.Kind != types.ProgramKind_PROGRAM_KIND_FIXED || fb.CapYen != 7500 || fb.FixedYen != 7500 {
		t.Fatalf("fixed Proto = %+v, want kind fixed, cap 7500", fb)
	}

	// An invalid program does not convert.
	p.RateBP = 0
	if _, err := p.Proto(); err == nil || !strings.Contains(err.Error(), "genesis: program.rate_bp 0") {
		t.Fatalf("Proto of an invalid program = %v", err)
	}

	// An unknown kind reads back as a kind Validate rejects.
	pb.Kind = types.ProgramKind_PROGRAM_KIND_UNSPECIFIED
	back := types.GenesisProgramFromProto(pb)
	if back.Kind != "unspecified" || back.Validate() == nil {
		t.Fatalf("unspecified kind read back as %q", back.Kind)
	}
	if !reflect.DeepEqual(types.GenesisProgramFromProto(nil), types.GenesisProgram{}) {
		t.Fatal("ProgramFromProto(nil) is not the zero program")
	}
}

func TestNewProgramConstructors(t *testing.T) {
	jst := time.FixedZone("JST", 9*3600)
	from := time.Date(2022, 1, 1, 9, 0, 0, 999, jst)
	to := time.Date(2023, 2, 28, 23, 59, 59, 500_000_000, jst)
	p := NewProgramPercent("p2-charge", 2500, 5000, 1e9, from, to)
	if err := p.Validate(); err != nil {
		t.Fatalf("NewProgramPercent is invalid: %v", err)
	}
	if p.Kind != types.KindPercentOfCharge || p.RateBP != 2500 || p.CapYen != 5000 || p.BudgetYen != 1e9 || p.Name != "p2-charge" {
		t.Fatalf("NewProgramPercent = %+v", p)
	}
	wantFrom := time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)
	wantTo := time.Date(2023, 2, 28, 14, 59, 59, 0, time.UTC)
	if p.LinkStart != wantFrom || p.GrantStart != wantFrom || p.LinkEnd != wantTo || p.GrantEnd != wantTo {
		t.Fatalf("windows = [%v, %v) [%v, %v); want whole-second UTC [%v, %v)", p.LinkStart, p.LinkEnd, p.GrantStart, p.GrantEnd, wantFrom, wantTo)
	}
	f := NewProgramFixed("p2-hoken", 7500, 1e9, from, to)
	if err := f.Validate(); err != nil {
		t.Fatalf("NewProgramFixed is invalid: %v", err)
	}
	if f.Kind != types.KindFixed || f.FixedYen != 7500 || f.CapYen != 7500 || f.RateBP != 0 || f.LinkEnd != wantTo {
		t.Fatalf("NewProgramFixed = %+v", f)
	}
}

func TestProviderProto(t *testing.T) {
	p := validDoc(t).AppState.Providers[0]
	pb := p.Proto()
	want := &types.Provider{
		Id: "paypay", Name: "PayPay", GrantKey: edKey(20), ValidatorKey: edKey(30), Power: 5,
		Status: types.ProviderStatus_PROVIDER_STATUS_ACTIVE,
	}
	if !reflect.DeepEqual(pb, want) {
		t.Fatalf("Proto = %+v\nwant %+v", pb, want)
	}
	p.GrantKey[0] ^= 0xff
	if pb.GrantKey[0] == p.GrantKey[0] {
		t.Fatal("Proto shares the grant key with the provider")
	}
	if q := (types.GenesisProvider{ID: "x", Name: "x", GrantKey: edKey(1)}).Proto(); len(q.ValidatorKey) != 0 || q.Power != 0 {
		t.Fatalf("provider without validator: %+v", q)
	}
}

func TestKindNamesAreTheLedgers(t *testing.T) {
	if types.KindPercentOfCharge != types.ProgramKind_PROGRAM_KIND_PERCENT_OF_CHARGE.Name() || types.KindFixed != types.ProgramKind_PROGRAM_KIND_FIXED.Name() {
		t.Fatalf("genesis kinds %q, %q are not the ledger's names", types.KindPercentOfCharge, types.KindFixed)
	}
}
