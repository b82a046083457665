// Package genesis is MyKey Ledger's genesis document: the one document a
// network starts from.
//
// The document on disk IS CometBFT's genesis.json, so mykeyd hands the file
// to CometBFT unchanged. Our typed state lives in its app_state field
// (AppState: the government's authority keys and threshold, the payment
// providers, the bonus programs, the trusted JPKI user-authentication CA
// certificates and the commitment to the network pseudonym key, see
// app/pseudonym; the key itself is never in genesis). The CometBFT validators in the file are not a second source
// of truth: they are derived from the app state (the government's validator
// and every provider with a validator key and power > 0), and Load rejects a
// file whose validators disagree with its app state.
//
// Typical use:
//
//	doc := &genesis.Document{ChainID: "mykey-1", GenesisTime: t, AppState: st}
//	if err := doc.Save("config/genesis.json"); err != nil { ... } // validates
//	doc, err := genesis.Load("config/genesis.json")                // validates
//
// The app state's type and its rules are the ledger's: app/types
// (GenesisState and GenesisState.Validate; AppState, Program ... here are
// aliases of its types). At InitChain the application receives the
// app_state bytes and decodes them with types.DecodeGenesisState, which is
// strict (unknown fields are errors) and validates by the same rules, so a
// document Validate accepts is one InitChain accepts. This package keeps
// the document: CometBFT's genesis.json around the app state, its chain ID,
// time and consensus parameters, loading and saving, and the embedded
// production trust anchors. Validation collects every problem it finds;
// each message names the field and the problem and starts with "genesis: ".
//
// ProductionTrustAnchors returns the real J-LIS user-authentication CA roots
// (embedded from anchors/), which a production network lists in
// app_state.trust_anchors so that real My Number Cards can link.
package genesis
