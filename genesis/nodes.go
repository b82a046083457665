package genesis

import "github.com/mykeyledger/mykey/app/types"

// MaxNodesPerOwner is types.MaxNodesPerOwner.
const MaxNodesPerOwner = types.MaxNodesPerOwner

// ValidateNodeIDs is types.ValidateNodeIDs.
func ValidateNodeIDs(ids []string) error { return types.ValidateNodeIDs(ids) }
