"""One handler per import kind (enterprises, qualifications, tenancies) and their shared base."""
