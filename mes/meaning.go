package mes

// MeaningApproved is the meaning of the signature that approves a
// disposition and of the one that releases a batch.
const MeaningApproved Meaning = "approved"
