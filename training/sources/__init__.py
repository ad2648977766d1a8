"""What differs per kind of training data, behind one small interface."""
