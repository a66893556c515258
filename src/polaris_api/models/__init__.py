"""ORM models. Importing this package registers every table on ``Base.metadata``."""
