package gallery

import "github.com/google/uuid"

// Caller is who is making a request. A Caller with a nil SupplierID acts for the service
// itself and may touch every product; authentication fills SupplierID for suppliers.
type Caller struct {
	SupplierID *uuid.UUID
}

// Owns reports whether the caller may change a product owned by supplierID.
func (c Caller) Owns(supplierID uuid.UUID) bool {
	return c.SupplierID == nil || *c.SupplierID == supplierID
}
