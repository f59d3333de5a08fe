"""Sessions: conversations stored in the database, independent of model processes."""
