"""Understanding residents: scorers over the knowledge base's phrasings and the learned fusion of them.

lexical     IDF-weighted term index with homophone repair and rapidfuzz re-scoring (explains itself)
classifier  character and word n-gram logistic regression over the phrasings
dense       an offline sentence encoder behind the Encoder port (optional)
features    what each scorer says about a candidate entry, as one row of numbers
fusion      those rows → calibrated P(candidate is right), trained by cross-validation
training    the cross-validation that produces the fusion's training rows and thresholds
"""
