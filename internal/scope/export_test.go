package scope

// Within exposes the pattern containment test to the scope_test package.
var Within = within
