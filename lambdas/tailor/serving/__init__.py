"""The runtime: trained models served to GetRecommendations and GetPersonalizedRanking."""
